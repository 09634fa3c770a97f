"""Named sets of models: the zoo models a campaign repeats, the held-out sets of the energy predictor.

The campaign (:mod:`greenai.campaign`) measures these sets; the predictor
(:mod:`greenai.predict`) ships their static features and never fits the
current held-out set. How each set was chosen is written beside it.
"""

from __future__ import annotations

__all__ = ["REPEATED_MODELS", "HELDOUT_MODELS", "HELDOUT2_MODELS", "HELDOUT3_MODELS", "HELDOUT4_MODELS",
           "HELDOUT5_MODELS", "HELDOUT_ANCHORS", "HELDOUT_SETS"]

#: zoo models whose ``macs`` runs are repeated 3 times (spread; multi-branch comparison)
REPEATED_MODELS = ("alexnet", "vgg11", "resnet18", "googlenet", "googlenet_mod1", "googlenet_mod8",
                   "googlenet_mod12")
#: torchvision models of families outside the zoo, measured only to test energy prediction
#: (:mod:`greenai.predict`); none of them enters a fit
HELDOUT_MODELS = ("densenet121", "efficientnet_b0", "regnet_y_800mf", "shufflenet_v2_x1_0", "squeezenet1_1",
                  "mnasnet1_0", "convnext_tiny", "resnext50_32x4d", "mobilenet_v3_large", "vit_b_16", "swin_t")
#: a second, fresh held-out set: chosen, and the predictor's coefficients committed, before any of these was
#: measured (the first set's residuals had been seen when the synthetic training rows were designed)
HELDOUT2_MODELS = ("maxvit_t", "regnet_x_1_6gf", "regnet_y_400mf", "efficientnet_v2_s", "efficientnet_b2",
                   "densenet169", "shufflenet_v2_x2_0", "mnasnet0_5", "convnext_small", "swin_v2_t", "vit_b_32",
                   "resnext101_32x8d", "mobilenet_v3_small")
#: a third held-out set: more architectures outside the zoo, predicted by the same frozen coefficients as the
#: second (nothing of the static-feature model changed after the second set was measured)
HELDOUT3_MODELS = ("densenet201", "efficientnet_b1", "efficientnet_b3", "mnasnet1_3", "regnet_x_400mf",
                   "regnet_y_1_6gf", "regnet_x_3_2gf", "resnext101_64x4d", "shufflenet_v2_x1_5", "squeezenet1_0",
                   "swin_s", "convnext_base", "efficientnet_v2_m")
#: a fourth held-out set, of architecture families that neither the zoo nor torchvision covers: timm models
#: (``timm:NAME``, timm 1.0.31, ``pip install 'greenai[timm]'``; random weights, timm's own 1-channel stem).
#: Rule (benchmarks/timm_heldout_screen.py, CPU): walk these candidates in this order of preference and take
#: the first 16 that pass, keeping the order -- ghostnet_100, repvgg_a2, cspresnet50, dla34,
#: hrnet_w18_small_v2, dpn68, xception41, resnest26d, ese_vovnet19b_dw, rexnet_100, lcnet_100, mixer_s16_224,
#: resmlp_12_224, poolformer_s12, levit_128, mobilevit_s, efficientformer_l1, edgenext_small, fastvit_t8,
#: pvt_v2_b1, coat_lite_tiny, nf_resnet26, inception_next_tiny, tiny_vit_5m_224, gcvit_xxtiny, hgnetv2_b0,
#: repvit_m1, mobileone_s1. A candidate passes when (1) its family (the timm module defining it,
#: :func:`greenai.models.model_info`) is no zoo or torchvision family (ignoring underscores) and not taken
#: before, (2) its forward MACs per sample (thop, 1x224x224, 10 classes) lie in 0.3-10 GMAC, (3) the
#: predictor's static features build on ``meta`` (``compute_model_features``, ``step_operators`` at batch
#: 256), (4) one CPU training step at batch 2, 1x224x224 (forward, cross-entropy, backward) is finite.
#: Dropped: ghostnet_100 (0.150 GMAC < 0.3), lcnet_100 (family ``mobilenetv3`` = torchvision's
#: ``mobilenet_v3``), resmlp_12_224 (family ``mlp_mixer``, taken by mixer_s16_224); not needed after 16 (all
#: pass): pvt_v2_b1, coat_lite_tiny, nf_resnet26, inception_next_tiny, tiny_vit_5m_224, gcvit_xxtiny,
#: hgnetv2_b0, repvit_m1; mobileone_s1 would be dropped (family ``byobnet``, taken by repvgg_a2).
#:
#: ======================  ================  ==========
#: model                   family            GMAC/sample
#: ======================  ================  ==========
#: timm:repvgg_a2          byobnet           5.700
#: timm:cspresnet50        cspnet            3.414
#: timm:dla34              dla               3.001
#: timm:hrnet_w18_small_v2 hrnet             2.618
#: timm:dpn68              dpn               2.372
#: timm:xception41         xception_aligned  5.055
#: timm:resnest26d         resnest           3.658
#: timm:ese_vovnet19b_dw   vovnet            1.340
#: timm:rexnet_100         rexnet            0.420
#: timm:mixer_s16_224      mlp_mixer         3.732
#: timm:poolformer_s12     metaformer        1.810
#: timm:levit_128          levit             0.408
#: timm:mobilevit_s        mobilevit         1.561
#: timm:efficientformer_l1 efficientformer   1.315
#: timm:edgenext_small     edgenext          0.961
#: timm:fastvit_t8         fastvit           0.538
#: ======================  ================  ==========
HELDOUT4_MODELS = ("timm:repvgg_a2", "timm:cspresnet50", "timm:dla34", "timm:hrnet_w18_small_v2", "timm:dpn68",
                   "timm:xception41", "timm:resnest26d", "timm:ese_vovnet19b_dw", "timm:rexnet_100",
                   "timm:mixer_s16_224", "timm:poolformer_s12", "timm:levit_128", "timm:mobilevit_s",
                   "timm:efficientformer_l1", "timm:edgenext_small", "timm:fastvit_t8")

#: a fifth held-out set, built like the fourth (timm 1.0.31, random weights, timm's own 1-channel stem), of 16
#: more timm families. Rule (benchmarks/timm_heldout_screen.py --set 5, CPU): walk these candidates in this order
#: and take the first 16 that pass, keeping the order -- pvt_v2_b1, coat_lite_tiny, nf_resnet26,
#: inception_next_tiny, tiny_vit_5m_224, gcvit_xxtiny, hgnetv2_b0, repvit_m1, selecsls42b, skresnet18,
#: res2net50_26w_4s, cait_xxs24_224, convit_tiny, twins_svt_small, nest_tiny, visformer_tiny,
#: xcit_nano_12_p16_224, davit_tiny, focalnet_tiny_srf, efficientvit_b1, ghostnetv2_160, starnet_s2, rdnet_tiny,
#: pit_ti_224, tnt_s_patch16_224, volo_d1_224, efficientvit_m5, mambaout_femto, hiera_tiny_224, tresnet_m. The
#: checks of set 4, with its family check widened: the family is also no family of set 4 (those of
#: :data:`HELDOUT4_MODELS`), no ViT-equivalent timm family (vision_transformer, deit, beit, eva,
#: vision_transformer_hybrid: torchvision has ViT) and no name of the synthetic architectures' blocks; and the
#: whole screen runs with huggingface_hub, safetensors and yaml unimportable (as with timm
#: installed alone, --no-deps), the model first built with 1 input plane and 10 classes; the CPU training step is at 1x224x224.
#: Dropped: cait_xxs24_224 and pit_ti_224 (thop's MAC count fails: torch's module tracker in
#: :func:`greenai.macs.count_macs` raises "Expected gradient function to be set"), twins_svt_small and
#: nest_tiny (static features on ``meta`` fail: a reshape / a permute of the meta tensors); not needed after
#: 16: efficientvit_b1, ghostnetv2_160, starnet_s2, rdnet_tiny, tnt_s_patch16_224, volo_d1_224,
#: efficientvit_m5, mambaout_femto, tresnet_m (all pass), hiera_tiny_224 (would be dropped: static features
#: on ``meta`` fail, a broadcast).
#:
#: ========================  ==============  ==========
#: model                     family          GMAC/sample
#: ========================  ==============  ==========
#: timm:pvt_v2_b1            pvt_v2          2.098
#: timm:coat_lite_tiny       coat            1.590
#: timm:nf_resnet26          nfnet           2.263
#: timm:inception_next_tiny  inception_next  4.189
#: timm:tiny_vit_5m_224      tiny_vit        1.273
#: timm:gcvit_xxtiny         gcvit           2.120
#: timm:hgnetv2_b0           hgnet           0.324
#: timm:repvit_m1            repvit          0.841
#: timm:selecsls42b          selecsls        2.982
#: timm:skresnet18           sknet           1.748
#: timm:res2net50_26w_4s     res2net         4.227
#: timm:convit_tiny          convit          1.237
#: timm:visformer_tiny       visformer       1.253
#: timm:xcit_nano_12_p16_224 xcit            0.554
#: timm:davit_tiny           davit           4.506
#: timm:focalnet_tiny_srf    focalnet        4.407
#: ========================  ==============  ==========
HELDOUT5_MODELS = ("timm:pvt_v2_b1", "timm:coat_lite_tiny", "timm:nf_resnet26", "timm:inception_next_tiny",
                   "timm:tiny_vit_5m_224", "timm:gcvit_xxtiny", "timm:hgnetv2_b0", "timm:repvit_m1",
                   "timm:selecsls42b", "timm:skresnet18", "timm:res2net50_26w_4s", "timm:convit_tiny",
                   "timm:visformer_tiny", "timm:xcit_nano_12_p16_224", "timm:davit_tiny", "timm:focalnet_tiny_srf")

#: zoo models measured first in ``heldout4`` and in ``heldout5``, on the same card in the same run as that
#: set: their ratio to the zoo rows the predictor was fitted on (``macs_h200``, same conditions) measures
#: that card against the fitted one (two cards of one kind differ on the same runs: ``hardware_h200``); they
#: are not held-out rows
HELDOUT_ANCHORS = ("resnet18", "mobilenet_v2", "vgg11", "googlenet")


#: every held-out set, in the order it was measured (the experiment that measured it -> its models)
HELDOUT_SETS = {"heldout": HELDOUT_MODELS, "heldout2": HELDOUT2_MODELS, "heldout3": HELDOUT3_MODELS,
                "heldout4": HELDOUT4_MODELS, "heldout5": HELDOUT5_MODELS}
