"""Named sets of models: the zoo models a campaign repeats, the held-out sets of the energy predictor.

The campaign (:mod:`greenai.campaign`) measures these sets; the predictor
(:mod:`greenai.predict`) ships their static features and never fits the
current held-out set. How each set was chosen is written beside it.
"""

from __future__ import annotations

__all__ = ["REPEATED_MODELS", "HELDOUT_MODELS", "HELDOUT2_MODELS", "HELDOUT3_MODELS", "HELDOUT4_MODELS",
           "HELDOUT5_MODELS", "HELDOUT6_MODELS", "NEARFAMILY_MODELS", "HELDOUT7_MODELS", "HELDOUT8_MODELS",
           "NEARFAMILY2_MODELS", "HELDOUT9_MODELS", "NEARFAMILY3_MODELS", "HELDOUT10_MODELS", "HELDOUT11_MODELS",
           "NEARFAMILY4_MODELS", "NEARFAMILY5_MODELS", "HELDOUT12_MODELS", "NEARFAMILY6_MODELS", "HELDOUT13_MODELS",
           "HELDOUT_ANCHORS", "HELDOUT_SETS"]

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

#: a sixth held-out set, built like the fifth (timm 1.0.31, random weights, timm's own 1-channel stem), of 16 more
#: timm families, preferring those with the layer kinds of ``synthetic_48`` ... (recurrent, pooled / windowed /
#: linear attention, pre-activation, squeeze-excitation). Rule (benchmarks/timm_heldout_screen.py --set 6, CPU):
#: walk these candidates in this order and take the first 16 that pass, keeping the order -- sequencer2d_s,
#: mvitv2_tiny, halonet26t, efficientvit_b1, resnetv2_50, legacy_seresnet18, efficientvit_m5, ghostnetv2_160,
#: starnet_s2, rdnet_tiny, tnt_s_patch16_224, volo_d1_224, mambaout_femto, tresnet_m, nextvit_small,
#: efficientformerv2_s1, swiftformer_s, repghostnet_200, inception_v4, inception_resnet_v2, hardcorenas_f,
#: vitamin_small, shvit_s4, fasternet_t1. The checks of set 5, with its family check widened: the family is also
#: no family of set 5 (those of :data:`HELDOUT5_MODELS`) and no name of the block kinds of ``synthetic_48`` ...
#: (:data:`greenai.models.synthetic.KINDS_BLOCKS`). Dropped: halonet26t (thop's MAC count fails: an
#: AssertionError). Not needed after 16 (all pass): repghostnet_200, inception_v4, inception_resnet_v2,
#: hardcorenas_f, shvit_s4, fasternet_t1; vitamin_small is no model of timm 1.0.31. efficientformerv2_s1's family
#: (the module ``efficientformer_v2``) is not set 4's ``efficientformer``.
#:
#: ==========================  ==================  ==========
#: model                       family              GMAC/sample
#: ==========================  ==================  ==========
#: timm:sequencer2d_s          sequencer           8.367
#: timm:mvitv2_tiny            mvitv2              4.669
#: timm:efficientvit_b1        efficientvit_mit    0.532
#: timm:resnetv2_50            resnetv2            4.045
#: timm:legacy_seresnet18      senet               1.745
#: timm:efficientvit_m5        efficientvit_msra   0.525
#: timm:ghostnetv2_160         ghostnet            0.421
#: timm:starnet_s2             starnet             0.542
#: timm:rdnet_tiny             rdnet               5.044
#: timm:tnt_s_patch16_224      tnt                 5.232
#: timm:volo_d1_224            volo                6.790
#: timm:mambaout_femto         mambaout            1.148
#: timm:tresnet_m              tresnet             5.704
#: timm:nextvit_small          nextvit             5.812
#: timm:efficientformerv2_s1   efficientformer_v2  0.681
#: timm:swiftformer_s          swiftformer         0.986
#: ==========================  ==================  ==========
HELDOUT6_MODELS = ("timm:sequencer2d_s", "timm:mvitv2_tiny", "timm:efficientvit_b1", "timm:resnetv2_50",
                   "timm:legacy_seresnet18", "timm:efficientvit_m5", "timm:ghostnetv2_160", "timm:starnet_s2",
                   "timm:rdnet_tiny", "timm:tnt_s_patch16_224", "timm:volo_d1_224", "timm:mambaout_femto",
                   "timm:tresnet_m", "timm:nextvit_small", "timm:efficientformerv2_s1", "timm:swiftformer_s")

#: a near-family set: torchvision models that are new variants of families already fitted, to test the predictor
#: on unseen sizes of known families. Rule: walk torchvision's classification models in its list order
#: (:func:`greenai.models.torchvision_models.torchvision_names`) and take, up to 16, every model whose family
#: (:func:`~greenai.models.torchvision_models.torchvision_family`) is a family of the zoo or of held-out sets 1-3,
#: that no ``results/raw/kpi_*.csv`` had measured when the set was chosen (their ``model`` columns then held, of
#: torchvision's models, exactly the zoo's and those of sets 1-3), whose forward MACs per sample (thop,
#: :func:`greenai.macs.count_model`, 1x224x224, 10 classes) lie in 0.3-10 GMAC. 12 pass, so the cap does not bind.
#: Dropped by MACs: convnext_large 34.4, efficientnet_v2_l 12.4, mnasnet0_75 0.228, regnet_x_16gf 16.0, regnet_x_32gf 31.9, regnet_y_128gf 127.8,
#: regnet_y_16gf 16.0, regnet_y_32gf 32.4, resnet152 11.5, shufflenet_v2_x0_5 0.038, swin_b 15.4, swin_v2_b 17.1,
#: vgg13_bn 11.3, vgg16_bn 15.5, vgg19 19.6, vgg19_bn 19.6, vit_h_14 167.4, vit_l_16 61.5, vit_l_32 15.3 GMAC; not
#: of a fitted family: inception_v3, wide_resnet50_2, wide_resnet101_2. Every one's static features build on
#: ``meta``.
#:
#: ================  ===============  ==========
#: model             family           GMAC/sample
#: ================  ===============  ==========
#: densenet161       densenet         7.727
#: efficientnet_b4   efficientnet     1.566
#: efficientnet_b5   efficientnet     2.447
#: efficientnet_b6   efficientnet     3.477
#: efficientnet_b7   efficientnet     5.330
#: regnet_x_800mf    regnet           0.812
#: regnet_x_8gf      regnet           8.042
#: regnet_y_3_2gf    regnet           3.216
#: regnet_y_8gf      regnet           8.547
#: resnet101         resnet           7.786
#: swin_v2_s         swin_v2          9.706
#: vgg11_bn          vgg              7.577
#: ================  ===============  ==========
NEARFAMILY_MODELS = ("densenet161", "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7",
                     "regnet_x_800mf", "regnet_x_8gf", "regnet_y_3_2gf", "regnet_y_8gf", "resnet101", "swin_v2_s",
                     "vgg11_bn")

#: a seventh held-out set, built like the sixth (timm 1.0.31, random weights, timm's own 1-channel stem), of 16 more
#: timm families, chosen before any of them was measured. Rule (benchmarks/timm_heldout_screen.py --set 7, CPU):
#: walk these candidates in this order and take the first 16 that pass, keeping the order -- repghostnet_200,
#: inception_v4, inception_resnet_v2, hardcorenas_f, shvit_s4, fasternet_t1 (the six that passed set 6's screen but
#: were not needed), crossvit_tiny_240, legacy_xception, botnet26t_256, lambda_resnet26t, convmixer_768_32,
#: mobilenetv4_conv_small, mixnet_s, vit_relpos_small_patch16_224, coat_tiny, gmlp_s16_224, resmlp_12_224,
#: pnasnet5large, nasnetalarge, cs3darknet_s, regnetz_b16, mobileone_s1, lcnet_100, tinynet_a, fbnetv3_b,
#: semnasnet_100, spnasnet_100, efficientnet_lite0, ecaresnet26t, resnetrs50, seresnext26d_32x4d, dm_nfnet_f0,
#: gernet_s, vovnet39a, rexnetr_100, sebotnet33ts_256, eca_halonext26ts, csatv2 (naflexvit, also proposed, left
#: out: no model of timm 1.0.31 has that name), then -- appended before the screen was run, as the family check
#: was expected to leave fewer than 16 of those -- models of timm families no set used: efficientvim_m3,
#: lowformer_b1, iformer_s, vitamin_small_224, cpubone_s0, hieradet_small, convmixer_1024_20_ks9_p14,
#: twins_pcpvt_small. The checks of set 6, with its family check widened: the family is also no family of set 6
#: (those of :data:`HELDOUT6_MODELS`), none of the further ViT-equivalent timm families vision_transformer_relpos,
#: vision_transformer_sam, naflexvit, gemma4_vit, qwen3_vit, deepseek_vit, and no timm family reimplementing a
#: torchvision family under a module name the torchvision check misses (maxxvit = maxvit, swin_transformer = swin,
#: swin_transformer_v2 and swin_transformer_v2_cr = swin_v2; timm's resnet, regnet, efficientnet, mobilenetv3, vgg,
#: inception_v3, densenet and convnext modules are torchvision families by name already).
#: Dropped: botnet26t_256 (thop's MAC count fails: an AssertionError, as halonet26t's in set 6), convmixer_768_32
#: (20.804 GMAC > 10), mobilenetv4_conv_small, lcnet_100 and fbnetv3_b (family ``mobilenetv3`` = torchvision's
#: ``mobilenet_v3``), mixnet_s, tinynet_a, semnasnet_100, spnasnet_100 and efficientnet_lite0 (family
#: ``efficientnet``, torchvision's), vit_relpos_small_patch16_224 (ViT-equivalent), coat_tiny (``coat``, set 5),
#: gmlp_s16_224 and resmlp_12_224 (``mlp_mixer``, set 4), pnasnet5large (10.890 GMAC) and nasnetalarge (10.396
#: GMAC) (> 10), cs3darknet_s (``cspnet``, set 4), regnetz_b16, mobileone_s1 and gernet_s (``byobnet``, set 4),
#: ecaresnet26t, resnetrs50 and seresnext26d_32x4d (``resnet``, torchvision's), dm_nfnet_f0 (``nfnet``, set 5),
#: vovnet39a (``vovnet``, set 4), rexnetr_100 (``rexnet``, set 4), sebotnet33ts_256 and eca_halonext26ts
#: (``byoanet``, taken by lambda_resnet26t), csatv2 (builds with 1 input plane, with a warning that its DCT stem
#: is designed for RGB, but its forward fails: a reshape, so thop's count fails). Not needed after 16 (not
#: checked): twins_pcpvt_small. legacy_xception's family (the module ``xception``) is not set 4's
#: ``xception_aligned``, nor are inception_v4's and inception_resnet_v2's torchvision's ``inception_v3``.
#:
#: ==============================  ===================  ==========
#: model                           family               GMAC/sample
#: ==============================  ===================  ==========
#: timm:repghostnet_200            repghost             0.553
#: timm:inception_v4               inception_v4         6.164
#: timm:inception_resnet_v2        inception_resnet_v2  6.489
#: timm:hardcorenas_f              hardcorenas          0.356
#: timm:shvit_s4                   shvit                0.788
#: timm:fasternet_t1               fasternet            0.851
#: timm:crossvit_tiny_240          crossvit             1.538
#: timm:legacy_xception            xception             4.590
#: timm:lambda_resnet26t           byoanet              2.325
#: timm:efficientvim_m3            efficientvim         0.653
#: timm:lowformer_b1               lowformer            1.415
#: timm:iformer_s                  iformer              1.105
#: timm:vitamin_small_224          vitamin              5.898
#: timm:cpubone_s0                 cpubone              0.355
#: timm:hieradet_small             hieradet_sam2        6.893
#: timm:convmixer_1024_20_ks9_p14  convmixer            5.888
#: ==============================  ===================  ==========
HELDOUT7_MODELS = ("timm:repghostnet_200", "timm:inception_v4", "timm:inception_resnet_v2", "timm:hardcorenas_f",
                   "timm:shvit_s4", "timm:fasternet_t1", "timm:crossvit_tiny_240", "timm:legacy_xception",
                   "timm:lambda_resnet26t", "timm:efficientvim_m3", "timm:lowformer_b1", "timm:iformer_s",
                   "timm:vitamin_small_224", "timm:cpubone_s0", "timm:hieradet_small",
                   "timm:convmixer_1024_20_ks9_p14")

#: an eighth held-out set, chosen before any of it was measured. After seven sets timm has few families left, so
#: pytorchcv (0.0.74, random weights, ``in_channels`` planes) is a second source. Rule
#: (benchmarks/timm_heldout_screen.py --set 8, CPU; candidates, their order and the near copies fixed before it
#: ran): walk timm:twins_pcpvt_small, cait_xxs24_224, nest_tiny, pit_s_224, hiera_tiny_224, lcnetv2_small,
#: mobilenetv5_300m (the timm families no set took), then one canonical ImageNet model of each pytorchcv family
#: that is no family of the zoo, torchvision or sets 4 to 7 (names compared without underscores) and no near copy
#: of one (``NEAR_COPIES8`` of the screen: pre-activation, SE, IBN, D-/A-variants of ResNet, DenseNet variants,
#: Darknet and CSPNeXt as CSPNet, MBConv NAS nets, BN-Inception, ZFNet, FD-MobileNet ...) -- hardnet68, peleenet,
#: igcv3_w1, fishnet99, diracnet18v2, drnc26, darts, nasnet_4a1056, condensenet74_c4_g4, menet456_24x1_g3,
#: channelnet, sqnxt23_w2, dicenet_w2, espnetv2_w2, msdnet22, resattnet56, scnet50, octresnet50b_ad2,
#: isqrtcovresnet50, airnet50_1x64d_r2, bam_resnet50, cbam_resnet50, diaresnet50, pyramidnet101_a360,
#: sparsenet121, revnet38, sharesnet50, bagnet33, polynet -- and take the first 16 that pass the checks of set 7.
#: Dropped: cait_xxs24_224 and pit_s_224 (thop's count fails), nest_tiny, hiera_tiny_224 and condensenet74_c4_g4
#: (the static features fail on ``meta``), lcnetv2_small (0.294 GMAC) and dicenet_w2 (0.260) (< 0.3),
#: mobilenetv5_300m (33.3 GMAC) and drnc26 (16.9) (> 10), octresnet50b_ad2 (thop's count fails). Passed but not
#: needed: airnet50_1x64d_r2, bam_resnet50, cbam_resnet50, diaresnet50, pyramidnet101_a360, sparsenet121,
#: sharesnet50 (revnet38, bagnet33 and polynet fail).
#:
#: ==============================  ==============  ==========
#: model                           family          GMAC/sample
#: ==============================  ==============  ==========
#: timm:twins_pcpvt_small          twins           3.816
#: pytorchcv:hardnet68             hardnet         4.255
#: pytorchcv:peleenet              peleenet        0.513
#: pytorchcv:igcv3_w1              igcv3           0.351
#: pytorchcv:fishnet99             fishnet         4.301
#: pytorchcv:diracnet18v2          diracnetv2      1.716
#: pytorchcv:darts                 darts           0.540
#: pytorchcv:nasnet_4a1056         nasnet          0.587
#: pytorchcv:menet456_24x1_g3      menet           0.568
#: pytorchcv:channelnet            channelnet      0.540
#: pytorchcv:sqnxt23_w2            squeezenext     0.756
#: pytorchcv:espnetv2_w2           espnetv2        0.308
#: pytorchcv:msdnet22              msdnet          0.675
#: pytorchcv:resattnet56           resattnet       6.259
#: pytorchcv:scnet50               scnet           3.894
#: pytorchcv:isqrtcovresnet50      isqrtcovresnet  6.350
#: ==============================  ==============  ==========
HELDOUT8_MODELS = ("timm:twins_pcpvt_small", "pytorchcv:hardnet68", "pytorchcv:peleenet", "pytorchcv:igcv3_w1",
                   "pytorchcv:fishnet99", "pytorchcv:diracnet18v2", "pytorchcv:darts", "pytorchcv:nasnet_4a1056",
                   "pytorchcv:menet456_24x1_g3", "pytorchcv:channelnet", "pytorchcv:sqnxt23_w2",
                   "pytorchcv:espnetv2_w2", "pytorchcv:msdnet22", "pytorchcv:resattnet56", "pytorchcv:scnet50",
                   "pytorchcv:isqrtcovresnet50")

#: a second near-family set, chosen after set 8 was predicted and before any of it was measured: pytorchcv
#: reimplementations and variants of families the fit has (pre-activation, A-, IBN- and SE-ResNets, IBN-ResNeXt,
#: IBN-DenseNet, SE-ResNeXt, ResNeSt-A, Darknet as CSPNet's line). Rule (benchmarks/timm_heldout_screen.py
#: --nearfamily2, CPU; candidates and their order fixed before it ran): one canonical ImageNet model of each
#: pytorchcv module of the screen's NEAR_COPIES8 whose copied family is fitted -- preresnet50, resneta50b,
#: resnetd50b, ibn_resnet50, ibnb_resnet50, ibn_resnext50_32x4d, xdensenet121_2, ibn_densenet121, seresnet50,
#: sepreresnet50, seresnext50_32x4d, resnesta50, darknet53, darknet19, fbnet_cb, proxylessnas_gpu, mobilenetb_w1,
#: fdmobilenet_w1, zfnet, bninception, efficientnet_edge_small_b, spnasnet, mixnet_s, wrn50_2 -- the first 12 that
#: pass checks 2 to 4 of the held-out screens. Dropped: resnetd50b (20.5 GMAC > 10), xdensenet121_2 (thop's count
#: fails). Passed but not needed: fbnet_cb, proxylessnas_gpu, mobilenetb_w1, zfnet, bninception,
#: efficientnet_edge_small_b, spnasnet (fdmobilenet_w1, mixnet_s and wrn50_2 outside 0.3-10 GMAC).
NEARFAMILY2_MODELS = ("pytorchcv:preresnet50", "pytorchcv:resneta50b", "pytorchcv:ibn_resnet50",
                      "pytorchcv:ibnb_resnet50", "pytorchcv:ibn_resnext50_32x4d", "pytorchcv:ibn_densenet121",
                      "pytorchcv:seresnet50", "pytorchcv:sepreresnet50", "pytorchcv:seresnext50_32x4d",
                      "pytorchcv:resnesta50", "pytorchcv:darknet53", "pytorchcv:darknet19")

#: a ninth held-out set, chosen before any of it was measured, from a third source: vit-pytorch (1.26.14, random
#: weights, ``channels`` planes), whose classes have no named models, so each candidate is a named configuration at
#: 224x224 of a small ImageNet model's size (:data:`greenai.models.vitpytorch_models.CONFIGS`). Rule
#: (benchmarks/timm_heldout_screen.py --set 9, CPU; candidates, their order and the near copies fixed before it ran):
#: walk cvt_13, crossformer_t, scalablevit_s, sepvit_t, cct_14_7x2, t2tvit_12, lookvit_s, jetvit_s, rvt_s,
#: deepvit_s, nvit_s, simple_uvit_s, looped_vit_s, vit_small_dataset_s, vit_patch_merger_s, parallel_vit_s,
#: ats_vit_s (one per vit_pytorch module; training wrappers, video / 1-D / 3-D models and the screen's
#: ``NEAR_COPIES9`` -- ViT, simple ViT variants, CaiT, CrossViT, LeViT, MaxViT, MobileViT, NesT, PiT, Twins, XCiT
#: -- left out) and take the first 16 that pass the checks of set 8, the family also no family of set 8 or
#: nearfamily2. All 16 first pass; ats_vit_s would be dropped (thop's count fails: ``aten::_unique2`` has no meta
#: kernel). Left out before the screen, as they do not run with 1 input plane in vit-pytorch 1.26.14: regionvit
#: (a hard-coded 3-plane local encoder), local_vit (its feed-forward fails on every input), jumbo_vit (its jumbo
#: feed-forward would hold 24 G parameters).
#:
#: ================================  =====================  ==========
#: model                             family                 GMAC/sample
#: ================================  =====================  ==========
#: vitpytorch:cvt_13                 cvt                    4.542
#: vitpytorch:crossformer_t          crossformer            4.747
#: vitpytorch:scalablevit_s          scalable_vit           4.130
#: vitpytorch:sepvit_t               sep_vit                4.402
#: vitpytorch:cct_14_7x2             cct                    5.452
#: vitpytorch:t2tvit_12              t2t                    4.031
#: vitpytorch:lookvit_s              look_vit               5.050
#: vitpytorch:jetvit_s               jet_vit                4.380
#: vitpytorch:rvt_s                  rvt                    4.596
#: vitpytorch:deepvit_s              deepvit                4.596
#: vitpytorch:nvit_s                 normalized_vit         4.535
#: vitpytorch:simple_uvit_s          simple_uvit            5.005
#: vitpytorch:looped_vit_s           looped_vit             4.573
#: vitpytorch:vit_small_dataset_s    vit_for_small_dataset  4.654
#: vitpytorch:vit_patch_merger_s     vit_with_patch_merger  2.372
#: vitpytorch:parallel_vit_s         parallel_vit           4.576
#: ================================  =====================  ==========
HELDOUT9_MODELS = ("vitpytorch:cvt_13", "vitpytorch:crossformer_t", "vitpytorch:scalablevit_s", "vitpytorch:sepvit_t",
                   "vitpytorch:cct_14_7x2", "vitpytorch:t2tvit_12", "vitpytorch:lookvit_s", "vitpytorch:jetvit_s",
                   "vitpytorch:rvt_s", "vitpytorch:deepvit_s", "vitpytorch:nvit_s", "vitpytorch:simple_uvit_s",
                   "vitpytorch:looped_vit_s", "vitpytorch:vit_small_dataset_s", "vitpytorch:vit_patch_merger_s",
                   "vitpytorch:parallel_vit_s")

#: a third near-family set, chosen with set 9 and before either was measured, after set 8 and the second near-family
#: set joined the fit: variants not measured before of families the fit now has (set 8's first, then the second
#: near-family set's). Rule (benchmarks/timm_heldout_screen.py --nearfamily3, CPU): the first 12 of CANDIDATES_NEAR3
#: that pass checks 2 to 4 of the held-out screens, one per family. Its first run took 11: the smaller variants of
#: the grouped 1x1 families (igcv3_w3d4, menet228_12x1_g3, espnetv2_w1; menet160_8x1_g8) are below 0.3 GMAC, and
#: IGCV3 and ESPNetv2 have no larger variant unmeasured; menet348_12x1_g3 (0.31 GMAC) was then added after
#: menet228_12x1_g3, before anything was measured. Dropped above 10 GMAC: resattnet92, isqrtcovresnet101,
#: resnesta101.
NEARFAMILY3_MODELS = ("pytorchcv:menet348_12x1_g3", "pytorchcv:hardnet85", "pytorchcv:fishnet150",
                      "pytorchcv:diracnet34v2", "pytorchcv:sqnxt23v5_w2", "pytorchcv:scnet101", "timm:twins_pcpvt_base",
                      "pytorchcv:seresnet101", "pytorchcv:ibn_densenet169", "pytorchcv:darknet_ref",
                      "pytorchcv:preresnet101", "pytorchcv:ibn_resnext101_32x4d")

#: a tenth held-out set, chosen before any of it was measured and before the fit it tests was frozen. After nine sets
#: timm, pytorchcv and vit-pytorch have few families left, so mmpretrain (1.2.0, random weights, a pooled linear
#: head: :mod:`greenai.models.mmpretrain_models`) is a fourth source. Rule (benchmarks/timm_heldout_screen.py --set
#: 10, CPU; candidates, their order and the near copies fixed before it ran): walk the eight configurations of
#: mmpretrain backbones (van_b0, hornet_t, replknet_31t, repmlpnet_b, conformer_t, hivit_t, vig_t, revvit_s; one per
#: module, the modules of a family another source has left out, ``NEAR_COPIES10``: RIFormer, MixMIM, T2T-ViT,
#: ShuffleNet v1), then timm:lcnetv2_base (LCNetV2, whose small model set 8 dropped at 0.294 GMAC), then the seven
#: pytorchcv families that passed set 8's screen but were not needed, then octresnet10_ad2, bagnet17 and revnet110,
#: and take the first 16 that pass the checks of set 9, the family also no family of set 9 or the third near-family
#: set. Its first run dropped revvit_s: the static pass failed in RevViT's reversible blocks (a custom autograd
#: Function running modules with grad mode off and recomputing them in its backward); the pass was mended to track
#: modules through such blocks (:mod:`greenai.predict.features`) and the second run, before anything was measured,
#: takes it. Both runs: octresnet10_ad2 (thop's count fails), bagnet17 (15.8 GMAC) and revnet110 (13.2) (> 10) fail.
#: RevViT's backward recomputes its forward, which the static model, built on a backward of about twice the
#: forward, does not price apart.
#:
#: ==============================  ============  ==========
#: model                           family        GMAC/sample
#: ==============================  ============  ==========
#: mmpretrain:van_b0               van           0.861
#: mmpretrain:hornet_t             hornet        3.961
#: mmpretrain:replknet_31t         replknet      4.572
#: mmpretrain:repmlpnet_b          repmlp        6.735
#: mmpretrain:conformer_t          conformer     5.184
#: mmpretrain:hivit_t              hivit         4.597
#: mmpretrain:vig_t                vig           1.313
#: mmpretrain:revvit_s             revvit        4.543
#: timm:lcnetv2_base               lcnetv2       0.618
#: pytorchcv:airnet50_1x64d_r2     airnet        4.788
#: pytorchcv:bam_resnet50          bamresnet     4.138
#: pytorchcv:cbam_resnet50         cbamresnet    4.065
#: pytorchcv:diaresnet50           diaresnet     3.876
#: pytorchcv:pyramidnet101_a360    pyramidnet    8.724
#: pytorchcv:sparsenet121          sparsenet     1.777
#: pytorchcv:sharesnet50           sharesnet     3.820
#: ==============================  ============  ==========
HELDOUT10_MODELS = ("mmpretrain:van_b0", "mmpretrain:hornet_t", "mmpretrain:replknet_31t", "mmpretrain:repmlpnet_b",
                    "mmpretrain:conformer_t", "mmpretrain:hivit_t", "mmpretrain:vig_t", "mmpretrain:revvit_s",
                    "timm:lcnetv2_base", "pytorchcv:airnet50_1x64d_r2", "pytorchcv:bam_resnet50",
                    "pytorchcv:cbam_resnet50", "pytorchcv:diaresnet50", "pytorchcv:pyramidnet101_a360",
                    "pytorchcv:sparsenet121", "pytorchcv:sharesnet50")

#: an eleventh held-out set, chosen before any of it was measured and before the fit it tests was frozen. After ten
#: sets timm, pytorchcv, vit-pytorch and mmpretrain have few families left, so MONAI (1.6.1, random weights, 2-D, a
#: pooled linear head over each network's output map: :mod:`greenai.models.monai_models`) is a fifth source: networks
#: of medical imaging, most of them encoder-decoders that up-sample back to the input's size (transposed
#: convolutions, skip concatenations), a shape no earlier set has. Rule (benchmarks/timm_heldout_screen.py --set 11,
#: CPU; candidates, their order and the near copies ``NEAR_COPIES11`` fixed before it ran): walk the 19 configurations
#: of :data:`greenai.models.monai_models.CONFIGS` (one per monai.networks.nets module; encoder-decoders and
#: multi-scale designs least like anything fitted first, plain U-Nets and stacks last) and take the first 16 that
#: pass the checks of set 10, the family also no family of set 10. Its one run took the first 16 (dynunet,
#: classifier and patchgan_discriminator pass, not needed). Before anything was measured, the static pass was mended
#: to count a transposed convolution's MACs by its input elements (it had counted them by its outputs, stride^2 x
#: C_out / C_in times too many: :mod:`greenai.operator_times`). On the GPU a fifth check ran first, in the call that
#: measured the set: one training step at batch 256 must fit the card (benchmarks/step_memory.py,
#: ``results/benchmarks/step_memory.csv``). Restormer and MedNeXt did not fit 80 GB; the next two in the order,
#: dynunet and classifier, took their places (measured after the other 14, in a second call).
#:
#: ==============================  ====================  ==========
#: model                           family                GMAC/sample
#: ==============================  ====================  ==========
#: monai:basic_unetplusplus        basic_unetplusplus    3.262
#: monai:quicknat                  quicknat              3.014
#: monai:highresnet                highresnet            5.254
#: monai:attentionunet             attentionunet         2.080
#: monai:regunet                   regunet               3.504
#: monai:unetr                     unetr                 5.906
#: monai:swin_unetr                swin_unetr            3.528
#: monai:segresnet                 segresnet             3.049
#: monai:ahnet                     ahnet                 5.230
#: monai:autoencoderkl             autoencoderkl         5.087
#: monai:vqvae                     vqvae                 2.396
#: monai:autoencoder               autoencoder           1.928
#: monai:basic_unet                basic_unet            3.873
#: monai:unet                      unet                  2.995
#: monai:dynunet                   dynunet               2.357
#: monai:classifier                classifier            2.140
#: ==============================  ====================  ==========
HELDOUT11_MODELS = ("monai:basic_unetplusplus", "monai:quicknat", "monai:highresnet", "monai:attentionunet",
                    "monai:regunet", "monai:unetr", "monai:swin_unetr", "monai:segresnet", "monai:ahnet",
                    "monai:autoencoderkl", "monai:vqvae", "monai:autoencoder", "monai:basic_unet", "monai:unet",
                    "monai:dynunet", "monai:classifier")

#: a fourth near-family set, chosen after set 11 was measured and before any of it was measured: unmeasured size
#: variants of families the fit has, to test the predictor on another size of an architecture it has seen once. Rule
#: (benchmarks/timm_heldout_screen.py --nearfamily4, CPU; candidates and their order fixed before it ran): one
#: candidate per family of a fitted model (the zoo, the torchvision models measured, held-out sets 1-10 and the
#: near-family sets; not set 11's MONAI families, which no fit has), no family an earlier near-family set varied, only
#: families with one fitted model, most recently fitted first (set 10's in its order, then set 9's: 18 candidates),
#: none with a row in any ``results/raw/*.csv``; in each family the configuration closest in forward MACs (thop,
#: 1x224x224, 10 classes) to its fitted model, among its source's models (the larger if two tie), for mmpretrain and
#: vit-pytorch a published size added to their CONFIGS (mmpretrain's arch names van_b1 ... revvit_t, RepMLPNet-T224
#: from its paper, as mmpretrain names only RepMLPNet-B; CvT-21, CrossFormer-S and ScalableViT-S from theirs) --
#: van_b1, hornet_s, replknet_31b, repmlpnet_t, conformer_s, hivit_s, vig_s, revvit_t, timm:lcnetv2_small,
#: airnet50_1x64d_r16, bam_resnet34, cbam_resnet34, diaresnet34, sparsenet169, sharesnet34, vitpytorch:cvt_21,
#: crossformer_s, scalablevit_s_full (set 10's PyramidNet has no unmeasured ImageNet variant; HorNet's ``-gf``
#: archs, global filters, and pytorchcv's ``b`` / ``bc`` ResNets, another stride or block, are no size variants) --
#: and take the first 12 that pass checks 2 to 4 of the held-out screens, keeping the order; each is a variant of set
#: 10's model of its family. Dropped: replknet_31b (15.566 GMAC) and conformer_s (10.610) (> 10), lcnetv2_small (0.294
#: GMAC < 0.3; it, not lcnetv2_large at 1.119, is the closest to lcnetv2_base's 0.618). Passed but not needed: cvt_21,
#: crossformer_s, scalablevit_s_full.
#:
#: ==============================  ============  ==========
#: model                           family        GMAC/sample
#: ==============================  ============  ==========
#: mmpretrain:van_b1               van           2.485
#: mmpretrain:hornet_s             hornet        8.804
#: mmpretrain:repmlpnet_t          repmlp        2.837
#: mmpretrain:hivit_s              hivit         9.070
#: mmpretrain:vig_s                vig           4.546
#: mmpretrain:revvit_t             revvit        1.231
#: pytorchcv:airnet50_1x64d_r16    airnet        4.415
#: pytorchcv:bam_resnet34          bamresnet     3.605
#: pytorchcv:cbam_resnet34         cbamresnet    3.603
#: pytorchcv:diaresnet34           diaresnet     3.604
#: pytorchcv:sparsenet169          sparsenet     1.919
#: pytorchcv:sharesnet34           sharesnet     3.600
#: ==============================  ============  ==========
NEARFAMILY4_MODELS = ("mmpretrain:van_b1", "mmpretrain:hornet_s", "mmpretrain:repmlpnet_t", "mmpretrain:hivit_s",
                      "mmpretrain:vig_s", "mmpretrain:revvit_t", "pytorchcv:airnet50_1x64d_r16",
                      "pytorchcv:bam_resnet34", "pytorchcv:cbam_resnet34", "pytorchcv:diaresnet34",
                      "pytorchcv:sparsenet169", "pytorchcv:sharesnet34")

#: a fifth near-family set, chosen after the fourth was measured and before any of it was measured: variants of
#: lineages (:func:`greenai.predict.model.lineage`) of which the H200's fit has several models, the other end of the
#: family offsets' shrinkage (the fourth set's lineages had one each). Rule (benchmarks/timm_heldout_screen.py
#: --nearfamily5, CPU; fixed before it ran): the lineages with at least 2 fitted models on the H200 (28), most fitted
#: first (ties by name); a lineage's candidates are its torchvision, timm and pytorchcv models with no row in any
#: ``results/raw/*.csv`` and a bare name no measured model has, whose forward MACs (thop, 1x224x224, 10 classes) differ
#: by at least 5 % from each of its fitted models; closest to the geometric mean of the fitted models' MACs first, the
#: first that passes checks 2 to 4 of the held-out screens is the lineage's; the first 12 lineages with one are
#: taken. Lineages without one: googlenet (11 fitted; BN-Inception within 5 %), vgg (only 19-layer ones left,
#: > 10 GMAC), shufflenet_v2 (x0.5: 0.038 GMAC), diracnetv2 and fishnet (no candidate), efficientnet_v2 (V2-L: 12.4
#: GMAC), menet and mobilenet (all < 0.3 GMAC), mobilenet_v3 (no candidate).
#:
#: ===============================  =============  ======  ==========
#: model                            lineage        fitted  GMAC/sample
#: ===============================  =============  ======  ==========
#: pytorchcv:regnetx040             regnet         10      4.005
#: timm:efficientnet_lite4          efficientnet   8       1.402
#: pytorchcv:resnetbc38b            resnet         7       3.174
#: timm:densenetblur121d            densenet       6       3.132
#: pytorchcv:resnext38_32x4d        resnext        5       3.320
#: pytorchcv:sepreresnet34          senet          5       3.601
#: timm:darknet17                   cspnet         4       2.477
#: timm:convnext_nano_ols           convnext       3       2.631
#: pytorchcv:proxylessnas_cpu       mnasnet        3       0.465
#: timm:resnetv2_50d                resnetv2       3       4.361
#: pytorchcv:hardnet68ds            hardnet        2       0.793
#: timm:resnest50d_1s4x24d          resnest        2       4.449
#: ===============================  =============  ======  ==========
NEARFAMILY5_MODELS = ("pytorchcv:regnetx040", "timm:efficientnet_lite4", "pytorchcv:resnetbc38b",
                      "timm:densenetblur121d", "pytorchcv:resnext38_32x4d", "pytorchcv:sepreresnet34", "timm:darknet17",
                      "timm:convnext_nano_ols", "pytorchcv:proxylessnas_cpu", "timm:resnetv2_50d",
                      "pytorchcv:hardnet68ds", "timm:resnest50d_1s4x24d")

#: a twelfth held-out set, chosen after the fifth near-family set was measured and before any of it was measured, to
#: test the frozen fit a second time on families none of its rows has. After eleven sets the image classifiers of
#: timm, pytorchcv, vit-pytorch and mmpretrain and MONAI's networks have few families left, so pytorchcv's
#: dense-prediction networks are a sixth source (0.0.74, random weights, each built as published for 224x224, its
#: output maps pooled, a linear head: :data:`greenai.models.pytorchcv_models.DENSE`): real-time segmentation
#: encoder-decoders (factorised, asymmetric and dilated convolutions, early down-sampling, max-unpooling, two paths, a
#: resolution cascade), a face detector of five heads, a face-reconstruction encoder-decoder, and pose and keypoint
#: nets whose deconvolution or pixel-shuffle heads sit on MobileNet and ResNet encoders. Rule
#: (benchmarks/timm_heldout_screen.py --set 12, CPU; candidates, their order and the near copies ``NEAR_COPIES12``
#: fixed before it ran): walk the 17 networks of ``DENSE`` (segmentation first, pose nets on fitted encoders last),
#: then four models earlier screens listed but no set took, and take the first 16 that pass the checks of set 11, the
#: family also no family of set 11 or of the fourth and fifth near-family sets. Its one run took the first 16 but
#: ESPNet-C (0.292 GMAC, below 0.3). On the GPU the fifth check (one training step at batch 256 fits the card,
#: benchmarks/step_memory.py) runs in the call that measures the set.
#:
#: ===============================================  =====================  ==========
#: model                                            family                 GMAC/sample
#: ===============================================  =====================  ==========
#: pytorchcv:erfnet_cityscapes                      erfnet                 2.568
#: pytorchcv:esnet_cityscapes                       esnet                  2.322
#: pytorchcv:edanet_cityscapes                      edanet                 0.855
#: pytorchcv:dabnet_cityscapes                      dabnet                 1.015
#: pytorchcv:cgnet_cityscapes                       cgnet                  0.684
#: pytorchcv:enet_cityscapes                        enet                   0.423
#: pytorchcv:bisenet_resnet18_celebamaskhq          bisenet                2.575
#: pytorchcv:icnet_resnetd50b_cityscapes            icnet                  3.150
#: pytorchcv:linknet_cityscapes                     linknet                2.098
#: pytorchcv:lffd20x5s320v2_widerface               lffd                   1.068
#: pytorchcv:prnet                                  prnet                  3.737
#: pytorchcv:lwopenpose2d_mobilenet_cmupan_coco     lwopenpose_cmupan      3.328
#: pytorchcv:centernet_resnet18_voc                 centernet              2.504
#: pytorchcv:simplepose_resnet18_coco               simplepose_coco        2.972
#: pytorchcv:simplepose_mobile_mobilenetv2b_w1_coco simpleposemobile_coco  0.518
#: pytorchcv:alphapose_fastseresnet101b_coco        alphapose_coco         9.790
#: ===============================================  =====================  ==========
HELDOUT12_MODELS = ("pytorchcv:erfnet_cityscapes", "pytorchcv:esnet_cityscapes", "pytorchcv:edanet_cityscapes",
                    "pytorchcv:dabnet_cityscapes", "pytorchcv:cgnet_cityscapes", "pytorchcv:enet_cityscapes",
                    "pytorchcv:bisenet_resnet18_celebamaskhq", "pytorchcv:icnet_resnetd50b_cityscapes",
                    "pytorchcv:linknet_cityscapes", "pytorchcv:lffd20x5s320v2_widerface", "pytorchcv:prnet",
                    "pytorchcv:lwopenpose2d_mobilenet_cmupan_coco", "pytorchcv:centernet_resnet18_voc",
                    "pytorchcv:simplepose_resnet18_coco", "pytorchcv:simplepose_mobile_mobilenetv2b_w1_coco",
                    "pytorchcv:alphapose_fastseresnet101b_coco")

#: a sixth near-family set, chosen after the twelfth held-out set was measured, with the fit and its family offsets
#: as frozen then, and before any of it was measured: the fifth set's test again, by its rule drawn again
#: (benchmarks/timm_heldout_screen.py --nearfamily6, CPU): the fifth set's models are measured, so no candidate, and
#: two amendments fixed before it ran keep a copy of an earlier variant out (bare names compared without
#: underscores; MACs also >= 5 % from every model of the lineage an earlier near-family set measured). Its one run
#: took the first 12 lineages with a candidate; ten have none: the nine the fifth set found none in and densenet
#: (its nearest left is 13.7 GMAC). Thirteen candidates were dropped as copies of an earlier variant (RegNetY-4.0GF
#: and RegNetV-4.0GF of RegNetX-4.0GF, SE-ResNet-34 of SE-PreResNet-34, ...).
#:
#: ===============================  =============  ======  ==========
#: model                            lineage        fitted  GMAC/sample
#: ===============================  =============  ======  ==========
#: pytorchcv:regnety006             regnet         10      0.612
#: timm:tf_efficientnetv2_b2        efficientnet   8       1.187
#: timm:resnetblur50                resnet         7       5.096
#: pytorchcv:resnext26_32x4d        resnext        5       2.428
#: pytorchcv:seresnetbc38b          senet          5       3.180
#: timm:cspnext_m                   cspnet         4       1.930
#: timm:convnext_nano               convnext       3       2.445
#: pytorchcv:proxylessnas_mobile14  mnasnet        3       0.599
#: pytorchcv:preresnet34            resnetv2       3       3.600
#: pytorchcv:hardnet39ds            hardnet        2       0.439
#: pytorchcv:resnestabc14           resnest        2       2.774
#: pytorchcv:scneta50               scnet          2       4.735
#: ===============================  =============  ======  ==========
NEARFAMILY6_MODELS = ("pytorchcv:regnety006", "timm:tf_efficientnetv2_b2", "timm:resnetblur50",
                      "pytorchcv:resnext26_32x4d", "pytorchcv:seresnetbc38b", "timm:cspnext_m", "timm:convnext_nano",
                      "pytorchcv:proxylessnas_mobile14", "pytorchcv:preresnet34", "pytorchcv:hardnet39ds",
                      "pytorchcv:resnestabc14", "pytorchcv:scneta50")

#: a thirteenth held-out set (15 models), chosen after the sixth near-family set was measured and before any of it was
#: measured, to test the fit as frozen then (coefficients of the shipped ``predict_coefficients.json``) on families none of its rows
#: has. Hugging Face transformers is a seventh source (5.25.0, random weights: :data:`greenai.models.hf_models.CONFIGS`,
#: its dense-prediction, depth, matting, super-resolution, video and detection models with their outputs pooled and a
#: linear head). Rule (benchmarks/heldout13_screen.py, CPU; candidates, their order and the near copies
#: ``NEAR_COPIES13`` fixed before its first run, three configurations appended after it as ``ADDED_AFTER_RUN1``):
#: walk transformers' configurations, then every candidate of the screens of sets 4 to 12 no set took, then the
#: three added, and take the first 16 that pass the checks of set 12 (the family also no family of set 12 or of the
#: sixth near-family set). Its third run took 16. On the GPU the fifth check (one training step at batch 256 fits the
#: card, benchmarks/step_memory.py), run in the call that measured the set and before it, put Swin2SR (light, 8.5
#: GMAC: its transformer keeps 224x224 maps) out of memory on an 80 GB card, so by the rule it is no candidate and
#: the set is the other 15; no candidate is left to walk on to.
#:
#: ==============================  ======================  ==========
#: model                           family                  GMAC/sample
#: ==============================  ======================  ==========
#: hf:segformer_b0                 segformer               0.447
#: hf:textnet_tiny                 textnet                 2.369
#: hf:dpt_small                    dpt                     6.326
#: hf:glpn_b0                      glpn                    2.736
#: hf:upernet_convnext             upernet                 3.962
#: hf:maskformer_r50               maskformer              6.399
#: hf:vitmatte_small               vitmatte                9.421
#: hf:timesformer_2f               timesformer             5.776
#: pytorchcv:condensenet74_c4_g4   condensenet             0.558
#: pytorchcv:octresnet50b_ad2      octresnet               2.297
#: pytorchcv:revnet38              revnet                  4.410
#: monai:patchgan_discriminator    patchgan_discriminator  2.545
#: hf:pp_ocrv5_mobile_det          pp_ocrv5_mobile_det     0.612
#: hf:rt_detr_v2_r18               rt_detr_v2              4.685
#: hf:mask2former_r18              mask2former             6.882
#: ==============================  ======================  ==========
HELDOUT13_MODELS = ("hf:segformer_b0", "hf:textnet_tiny", "hf:dpt_small", "hf:glpn_b0", "hf:upernet_convnext",
                    "hf:maskformer_r50", "hf:vitmatte_small", "hf:timesformer_2f",
                    "pytorchcv:condensenet74_c4_g4", "pytorchcv:octresnet50b_ad2", "pytorchcv:revnet38",
                    "monai:patchgan_discriminator", "hf:pp_ocrv5_mobile_det", "hf:rt_detr_v2_r18",
                    "hf:mask2former_r18")

#: zoo models measured first in ``heldout4``, ``heldout5``, ``heldout6`` and ``nearfamily``, on the same card in the
#: same run as that set: their ratio to the zoo rows the predictor was fitted on (``macs_h200``, same conditions)
#: measures that card against the fitted one (two cards of one kind differ on the same runs: ``hardware_h200``);
#: they are not held-out rows
HELDOUT_ANCHORS = ("resnet18", "mobilenet_v2", "vgg11", "googlenet")


#: every held-out set, in the order it was measured (the experiment that measured it -> its models)
HELDOUT_SETS = {"heldout": HELDOUT_MODELS, "heldout2": HELDOUT2_MODELS, "heldout3": HELDOUT3_MODELS,
                "heldout4": HELDOUT4_MODELS, "heldout5": HELDOUT5_MODELS, "heldout6": HELDOUT6_MODELS,
                "nearfamily": NEARFAMILY_MODELS, "heldout7": HELDOUT7_MODELS,
                "heldout8": HELDOUT8_MODELS, "nearfamily2": NEARFAMILY2_MODELS, "heldout9": HELDOUT9_MODELS,
                "nearfamily3": NEARFAMILY3_MODELS, "heldout10": HELDOUT10_MODELS, "heldout11": HELDOUT11_MODELS,
                "nearfamily4": NEARFAMILY4_MODELS, "nearfamily5": NEARFAMILY5_MODELS, "heldout12": HELDOUT12_MODELS,
                "nearfamily6": NEARFAMILY6_MODELS, "heldout13": HELDOUT13_MODELS}
