"""Choose the fourth to twelfth held-out sets (:data:`greenai.models.sets.HELDOUT4_MODELS`, ...,
``HELDOUT12_MODELS``) from timm (for set 8 also pytorchcv, for set 9 vit-pytorch, for set 10 mmpretrain first, for
set 11 MONAI, for set 12 pytorchcv's dense-prediction networks) by a stated rule (CPU).

``PYTHONPATH=. python benchmarks/timm_heldout_screen.py [--set 4|5|6|7|8|9|10|11|12] [--all]`` walks
the candidates of that set (:data:`CANDIDATES`) in their order of preference and
takes the first 16 that pass, in order:

1. family: the timm module that defines the model (:func:`greenai.models.model_info`)
   is no family of the zoo or of torchvision (ignoring underscores:
   ``mobilenetv3`` = ``mobilenet_v3``) and no family taken earlier in the list
   (one model per family); for set 5 also no family of set 4 (the families of
   :data:`greenai.models.sets.HELDOUT4_MODELS`), no ViT-equivalent timm family
   (:data:`VIT_FAMILIES`: torchvision has ViT) and no name of the synthetic
   architectures' blocks (:data:`greenai.models.synthetic.BLOCKS`); for set 6
   also no family of set 5 and no name of :data:`greenai.models.synthetic.KINDS_BLOCKS`;
   for set 7 also no family of set 6, no timm family of the further ViT-equivalents
   :data:`VIT_FAMILIES7` and no timm family that reimplements a torchvision family
   under another module name (:data:`NEAR_COPIES7`: ``maxxvit`` is torchvision's
   maxvit, ``swin_transformer*`` its swin / swin_v2; timm's ``resnet``, ``regnet``,
   ``efficientnet``, ``mobilenetv3``, ``vgg``, ``inception_v3``, ``densenet`` and
   ``convnext`` modules are caught by the torchvision check already); for set 8, whose
   candidates are the timm families no set took yet and then models of pytorchcv (a
   second source: one canonical ImageNet model per pytorchcv family, ordered before the
   screen), also no family of set 7, families compared without underscores across both
   sources (pytorchcv ``inceptionv4`` = timm ``inception_v4``), and no family of
   :data:`NEAR_COPIES8` (a pytorchcv or timm module reimplementing a family the zoo,
   torchvision or an earlier set has under another name); for set 9, whose candidates
   are the named configurations of vit-pytorch (:data:`CANDIDATES9`, the order of
   :data:`greenai.models.vitpytorch_models.CONFIGS`; a family is the vit_pytorch module
   of the class), also no family of set 8 or of the second near-family set
   (:data:`greenai.models.sets.NEARFAMILY2_MODELS`) and no family of :data:`NEAR_COPIES9`
   (a vit_pytorch module reimplementing a family torchvision, timm or an earlier set has); for set 10, whose
   candidates are named configurations of mmpretrain backbones (:data:`CANDIDATES10`; a family is the
   mmpretrain module of the backbone), then timm and pytorchcv models, also no family of set 9 or of the third
   near-family set and no family of :data:`NEAR_COPIES10`; for set 11, whose candidates are named 2-D
   configurations of MONAI's networks (:data:`CANDIDATES11`, the order of
   :data:`greenai.models.monai_models.CONFIGS`; a family is the monai.networks.nets module of the class), also no
   family of set 10 and no family of :data:`NEAR_COPIES11`; for set 12, whose candidates are pytorchcv's
   dense-prediction networks as classifiers (:data:`CANDIDATES12`, the order of
   :data:`greenai.models.pytorchcv_models.DENSE`, then four models earlier screens listed but no set took), also no
   family of set 11 or of the fourth and fifth near-family sets and no family of :data:`NEAR_COPIES12`;
2. forward MACs per sample (thop, :func:`greenai.macs.count_model`, 1x224x224,
   10 classes) between 0.3 and 10 GMAC; for sets 5 to 12 the model must first build
   (1 input plane, 10 classes) with huggingface_hub, safetensors and yaml
   unimportable, as in an install of timm alone (`pip install --no-deps timm`)
   (the whole screen of sets 5 to 9 runs with them blocked; those of sets 10 to 12 with the first two, as
   mmpretrain's mmengine needs yaml);
3. the static features of the energy predictor build on the ``meta`` device
   (:func:`greenai.predict.features.compute_model_features` and
   :func:`greenai.operator_times.step_operators` at batch 256);
4. one training step on the CPU at batch 2, 1x224x224 (forward, cross-entropy,
   backward) gives finite logits of shape ``[2, 10]`` and finite gradients;
5. (sets 11 and 12, on the GPU, before measuring: ``benchmarks/step_memory.py``) one training step at
   batch 256 fits the card; the set is the first 16 candidates that pass all five.

Prints one line per candidate (``taken`` or the reason it was dropped) and the
tuple to paste into greenai/models/sets.py. Without ``--all`` the candidates after
the 16th taken are not checked. Needs timm (``pip install 'greenai[timm]'``), for set 8
also pytorchcv (``pip install 'greenai[pytorchcv]'``), for set 9 also vit-pytorch
(``pip install 'greenai[vitpytorch]'``), for sets 10 to 12 also mmpretrain (``pip install 'greenai[mmpretrain]'``),
for sets 11 and 12 also MONAI (``pip install 'greenai[monai]'``).

``--nearfamily2``, ``--nearfamily3`` or ``--nearfamily4`` (with or without ``--all``) screens a near-family set
instead (:data:`CANDIDATES_NEAR2`, :data:`CANDIDATES_NEAR3`, :data:`CANDIDATES_NEAR4`: variants of fitted families,
one per family, through checks 2 to 4, the first 12 that pass); the fourth, whose candidates include mmpretrain's,
with huggingface_hub and safetensors unimportable (mmengine needs yaml), as sets 10 and 11, the others with all three.
``--nearfamily5`` draws its candidates by rule instead of from a list (:func:`near5_plan`, :data:`NEAR5_MIN_FITTED`):
a variant of each lineage the H200's fit has several models of. It reads which models are measured from
``results/raw``, so run after its set was measured it takes the set's models as measured and draws others:
``--nearfamily6`` does so for the sixth set, with no copy of an earlier near-family variant.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

#: the candidates of each set, in order of preference (architecture families that the zoo and torchvision lack)
CANDIDATES4 = ("ghostnet_100", "repvgg_a2", "cspresnet50", "dla34", "hrnet_w18_small_v2", "dpn68", "xception41",
              "resnest26d", "ese_vovnet19b_dw", "rexnet_100", "lcnet_100", "mixer_s16_224", "resmlp_12_224",
              "poolformer_s12", "levit_128", "mobilevit_s", "efficientformer_l1", "edgenext_small", "fastvit_t8",
              "pvt_v2_b1", "coat_lite_tiny", "nf_resnet26", "inception_next_tiny", "tiny_vit_5m_224",
              "gcvit_xxtiny", "hgnetv2_b0", "repvit_m1", "mobileone_s1")
CANDIDATES5 = ("pvt_v2_b1", "coat_lite_tiny", "nf_resnet26", "inception_next_tiny", "tiny_vit_5m_224", "gcvit_xxtiny",
               "hgnetv2_b0", "repvit_m1", "selecsls42b", "skresnet18", "res2net50_26w_4s", "cait_xxs24_224",
               "convit_tiny", "twins_svt_small", "nest_tiny", "visformer_tiny", "xcit_nano_12_p16_224", "davit_tiny",
               "focalnet_tiny_srf", "efficientvit_b1", "ghostnetv2_160", "starnet_s2", "rdnet_tiny", "pit_ti_224",
               "tnt_s_patch16_224", "volo_d1_224", "efficientvit_m5", "mambaout_femto", "hiera_tiny_224", "tresnet_m")
#: set 6 prefers families exercising the block kinds of synthetic_48 ... (recurrent, pooled / windowed / linear
#: attention, pre-activation, squeeze-excitation) first
CANDIDATES6 = ("sequencer2d_s", "mvitv2_tiny", "halonet26t", "efficientvit_b1", "resnetv2_50", "legacy_seresnet18",
               "efficientvit_m5", "ghostnetv2_160", "starnet_s2", "rdnet_tiny", "tnt_s_patch16_224", "volo_d1_224",
               "mambaout_femto", "tresnet_m", "nextvit_small", "efficientformerv2_s1", "swiftformer_s",
               "repghostnet_200", "inception_v4", "inception_resnet_v2", "hardcorenas_f", "vitamin_small",
               "shvit_s4", "fasternet_t1")
#: set 7: first the six that passed set 6's screen but were not needed, then the brief's further candidates
#: (``naflexvit`` left out: no model of timm 1.0.31 has that name; ``csatv2`` is one), then, fixed before the
#: screen was run because the family check was expected to leave fewer than 16 of those, candidates of timm
#: families no set uses yet (efficientvim_m3 ... twins_pcpvt_small)
CANDIDATES7 = ("repghostnet_200", "inception_v4", "inception_resnet_v2", "hardcorenas_f", "shvit_s4", "fasternet_t1",
               "crossvit_tiny_240", "legacy_xception", "botnet26t_256", "lambda_resnet26t", "convmixer_768_32",
               "mobilenetv4_conv_small", "mixnet_s", "vit_relpos_small_patch16_224", "coat_tiny", "gmlp_s16_224",
               "resmlp_12_224", "pnasnet5large", "nasnetalarge", "cs3darknet_s", "regnetz_b16", "mobileone_s1",
               "lcnet_100", "tinynet_a", "fbnetv3_b", "semnasnet_100", "spnasnet_100", "efficientnet_lite0",
               "ecaresnet26t", "resnetrs50", "seresnext26d_32x4d", "dm_nfnet_f0", "gernet_s", "vovnet39a",
               "rexnetr_100", "sebotnet33ts_256", "eca_halonext26ts", "csatv2",
               "efficientvim_m3", "lowformer_b1", "iformer_s", "vitamin_small_224", "cpubone_s0", "hieradet_small",
               "convmixer_1024_20_ks9_p14", "twins_pcpvt_small")
#: set 8: after seven sets few timm families are left, so the candidates are, in this order, fixed before the
#: screen was run: the timm families no set took (twins ... mobilenetv5; cspnext, darknet-like, left out as CSPNet,
#: set 4's), then one canonical ImageNet model of each pytorchcv family that is neither a torchvision, zoo or timm
#: set's family nor a near copy of one -- distinct designs first (dense, harmonic, group-interleaved, fish, Dirac,
#: dilated, NAS cells, ...), then ResNets with a new block or attention module, the largest last
CANDIDATES8 = ("timm:twins_pcpvt_small", "timm:cait_xxs24_224", "timm:nest_tiny", "timm:pit_s_224",
               "timm:hiera_tiny_224", "timm:lcnetv2_small", "timm:mobilenetv5_300m",
               "pytorchcv:hardnet68", "pytorchcv:peleenet", "pytorchcv:igcv3_w1", "pytorchcv:fishnet99",
               "pytorchcv:diracnet18v2", "pytorchcv:drnc26", "pytorchcv:darts", "pytorchcv:nasnet_4a1056",
               "pytorchcv:condensenet74_c4_g4", "pytorchcv:menet456_24x1_g3", "pytorchcv:channelnet",
               "pytorchcv:sqnxt23_w2", "pytorchcv:dicenet_w2", "pytorchcv:espnetv2_w2", "pytorchcv:msdnet22",
               "pytorchcv:resattnet56", "pytorchcv:scnet50", "pytorchcv:octresnet50b_ad2",
               "pytorchcv:isqrtcovresnet50", "pytorchcv:airnet50_1x64d_r2", "pytorchcv:bam_resnet50",
               "pytorchcv:cbam_resnet50", "pytorchcv:diaresnet50", "pytorchcv:pyramidnet101_a360",
               "pytorchcv:sparsenet121", "pytorchcv:revnet38", "pytorchcv:sharesnet50", "pytorchcv:bagnet33",
               "pytorchcv:polynet")
#: set 9: after eight sets a third source, vit-pytorch, whose classes have no named models: one configuration per
#: 2-D image classifier module that is no training wrapper and no near copy (greenai.models.vitpytorch_models.CONFIGS,
#: in this order, fixed before the screen was run) -- hierarchical and convolutional-token designs first (CvT,
#: CrossFormer, ScalableViT, SepViT, CCT, T2T-ViT, LookViT, JetViT), then ViT stacks with a new block, residual or
#: token scheme (RvT, DeepViT, nViT, U-ViT, looped, small-dataset, patch-merger, parallel, adaptive token sampling).
#: Modules left out before the screen: the training wrappers (mae, simmim, dino, es_vit, distill, mpp, mp3, lejepa,
#: levjepa*, accept_video_wrapper, extractor, recorder), models of video, 1-D, 3-D or N-D inputs (vivit*, vit_1d,
#: vit_3d, simple_vit_1d, simple_vit_3d, simple_flash_attn_vit_3d, cct_3d, na_vit_nested_tensor_3d, vit_nd*), models
#: taking more than a batch of images (na_vit* packed images of varying size, vat / vaat actions and audio, wwt's slot
#: heads, vat_siglip no classifier), :data:`NEAR_COPIES9`, and three classes that do not run with 1 input plane in
#: vit-pytorch 1.26.14: regionvit (its local encoder is a hard-coded 3-plane convolution), local_vit (its
#: feed-forward normalizes a [N, C, H, W] map over its last axis: every forward fails) and jumbo_vit (its jumbo
#: feed-forward takes the hidden width as a multiplier: 24 G parameters at width 384)
CANDIDATES9 = ("vitpytorch:cvt_13", "vitpytorch:crossformer_t", "vitpytorch:scalablevit_s", "vitpytorch:sepvit_t",
               "vitpytorch:cct_14_7x2", "vitpytorch:t2tvit_12", "vitpytorch:lookvit_s", "vitpytorch:jetvit_s",
               "vitpytorch:rvt_s", "vitpytorch:deepvit_s", "vitpytorch:nvit_s", "vitpytorch:simple_uvit_s",
               "vitpytorch:looped_vit_s", "vitpytorch:vit_small_dataset_s", "vitpytorch:vit_patch_merger_s",
               "vitpytorch:parallel_vit_s", "vitpytorch:ats_vit_s")
#: set 10: after nine sets timm, pytorchcv and vit-pytorch have few families left, so a fourth source, mmpretrain, whose
#: backbones have no classifiers of their own: one configuration per backbone module that is no near copy
#: (greenai.models.mmpretrain_models.CONFIGS, in this order, fixed before the screen was run: large-kernel attention,
#: recursive gated convolution, 31x31 kernels, MLPs over feature maps, then the convolution-transformer hybrid,
#: hierarchical ViT, vision GNN and reversible ViT), then the one timm family no set took whose only screened model
#: was out of range (LCNetV2, at its base width; CSATv2's forward fails with 1 plane, set 7), then the seven
#: pytorchcv families that passed set 8's screen but were not needed (ResNets with a new block or attention module),
#: then three pytorchcv families whose canonical model failed set 8's screen, at another depth. mmpretrain modules
#: left out before the screen: those of a family torchvision, timm, pytorchcv or vit-pytorch has under its own or
#: another name (alexnet, beit, convmixer, convnext, cspnet, davit, deit, deit3, densenet, edgenext, efficientformer,
#: efficientnet, efficientnet_v2, hrnet, inception_v3, levit, mlp_mixer, mobilenet_v2, mobilenet_v3, mobileone,
#: mobilevit, mvit, poolformer, regnet, repvgg, res2net, resnest, resnet, resnext, seresnet, seresnext, shufflenet_v2,
#: swin_transformer*, tinyvit, tnt, twins, vgg, vision_transformer, vit_eva02, vit_sam, xcit; :data:`NEAR_COPIES10`),
#: pretraining-only backbones (sparse_convnext, sparse_resnet), CIFAR or 28x28 models (resnet_cifar, lenet) and
#: timm_backbone (a wrapper)
CANDIDATES10 = ("mmpretrain:van_b0", "mmpretrain:hornet_t", "mmpretrain:replknet_31t", "mmpretrain:repmlpnet_b",
                "mmpretrain:conformer_t", "mmpretrain:hivit_t", "mmpretrain:vig_t", "mmpretrain:revvit_s",
                "timm:lcnetv2_base",
                "pytorchcv:airnet50_1x64d_r2", "pytorchcv:bam_resnet50", "pytorchcv:cbam_resnet50",
                "pytorchcv:diaresnet50", "pytorchcv:pyramidnet101_a360", "pytorchcv:sparsenet121",
                "pytorchcv:sharesnet50",
                "pytorchcv:octresnet10_ad2", "pytorchcv:bagnet17", "pytorchcv:revnet110")
#: set 11: after ten sets timm, pytorchcv, vit-pytorch and mmpretrain have few families left, so a fifth source, MONAI,
#: whose networks (mostly 2-D/3-D segmentation and reconstruction encoder-decoders) have no classifiers of their own:
#: one 2-D configuration per monai.networks.nets module that is no near copy (greenai.models.monai_models.CONFIGS, in
#: this order, fixed before the screen was run: encoder-decoders and multi-scale designs least like anything fitted
#: first, then those whose encoder resembles a fitted family, autoencoders, plain U-Nets, plain stacks last; the
#: modules left out before the screen and why: the comment above CONFIGS and :data:`NEAR_COPIES11`)
CANDIDATES11 = ("monai:basic_unetplusplus", "monai:quicknat", "monai:highresnet", "monai:restormer",
                "monai:attentionunet", "monai:regunet", "monai:unetr", "monai:swin_unetr", "monai:mednext",
                "monai:segresnet", "monai:ahnet", "monai:autoencoderkl", "monai:vqvae", "monai:autoencoder",
                "monai:basic_unet", "monai:unet", "monai:dynunet", "monai:classifier", "monai:patchgan_discriminator")
#: set 12: after eleven sets the image classifiers of timm, pytorchcv, vit-pytorch and mmpretrain and MONAI's networks
#: have few families left, so pytorchcv's dense-prediction networks, as classifiers (greenai.models.pytorchcv_models.
#: DENSE: the network as published for 224x224, its output maps pooled, a linear head): real-time segmentation
#: encoder-decoders first (factorised and asymmetric convolutions, context-guided and spatial-pyramid blocks, early
#: down-sampling, two paths, a resolution cascade, a residual-encoder decoder), then a face detector, a face
#: reconstruction encoder-decoder, and pose and keypoint nets (their heads on MobileNet and ResNet encoders last). In
#: that order, fixed before the screen was run; then the four models earlier screens passed or listed but no set
#: needed (MONAI's patch discriminator, set 11; pytorchcv's OctResNet, BagNet and RevNet at another depth, set 10).
#: Dense-prediction modules of pytorchcv left out before the screen: unet (:data:`NEAR_COPIES12`), those that do not
#: build or run at 224x224 (lednet, sinet and ibppose_coco: their skip maps do not line up; superpointnet: it asserts
#: one image), those whose MACs at 224x224 are outside the range of check 2 (deeplabv3, pspnet, fcn8sd and danet on a
#: dilated ResNet-50: 28-40 GMAC; segnet 31, sqnet 14; contextnet, fastscnn and fpenet 0.15-0.16 GMAC) and those that
#: take more than one image (raft: two frames; propainter: video) or no image (jasper, quartznet, voca, nvpattexp)
CANDIDATES12 = ("pytorchcv:erfnet_cityscapes", "pytorchcv:esnet_cityscapes", "pytorchcv:edanet_cityscapes",
                "pytorchcv:dabnet_cityscapes", "pytorchcv:cgnet_cityscapes", "pytorchcv:enet_cityscapes",
                "pytorchcv:espcnet_cityscapes", "pytorchcv:bisenet_resnet18_celebamaskhq",
                "pytorchcv:icnet_resnetd50b_cityscapes", "pytorchcv:linknet_cityscapes",
                "pytorchcv:lffd20x5s320v2_widerface", "pytorchcv:prnet", "pytorchcv:lwopenpose2d_mobilenet_cmupan_coco",
                "pytorchcv:centernet_resnet18_voc", "pytorchcv:simplepose_resnet18_coco",
                "pytorchcv:simplepose_mobile_mobilenetv2b_w1_coco", "pytorchcv:alphapose_fastseresnet101b_coco",
                "monai:patchgan_discriminator", "pytorchcv:octresnet10_ad2", "pytorchcv:bagnet17",
                "pytorchcv:revnet110")
CANDIDATES = {4: CANDIDATES4, 5: CANDIDATES5, 6: CANDIDATES6, 7: CANDIDATES7, 8: CANDIDATES8, 9: CANDIDATES9,
              10: CANDIDATES10, 11: CANDIDATES11, 12: CANDIDATES12}
#: the second near-family set (``--nearfamily2``): one canonical ImageNet model of each pytorchcv module of
#: :data:`NEAR_COPIES8` whose copied family is fitted (the zoo, torchvision or sets 4 to 7), in this order, fixed
#: before the screen ran; the first 12 that pass checks 2 to 4 (one per module) are taken
CANDIDATES_NEAR2 = ("pytorchcv:preresnet50", "pytorchcv:resneta50b", "pytorchcv:resnetd50b", "pytorchcv:ibn_resnet50",
                    "pytorchcv:ibnb_resnet50", "pytorchcv:ibn_resnext50_32x4d", "pytorchcv:xdensenet121_2",
                    "pytorchcv:ibn_densenet121", "pytorchcv:seresnet50", "pytorchcv:sepreresnet50",
                    "pytorchcv:seresnext50_32x4d", "pytorchcv:resnesta50", "pytorchcv:darknet53",
                    "pytorchcv:darknet19", "pytorchcv:fbnet_cb", "pytorchcv:proxylessnas_gpu",
                    "pytorchcv:mobilenetb_w1", "pytorchcv:fdmobilenet_w1", "pytorchcv:zfnet", "pytorchcv:bninception",
                    "pytorchcv:efficientnet_edge_small_b", "pytorchcv:spnasnet", "pytorchcv:mixnet_s",
                    "pytorchcv:wrn50_2")
WANTED_NEAR2 = 12
#: the third near-family set (``--nearfamily3``): one model per family, a variant not measured before of a family
#: the fit has since set 8 and the second near-family set joined it, set 8's families first (its grouped 1x1
#: families IGCV3, MENet and ESPNetv2 at their head), then those of the second near-family set
CANDIDATES_NEAR3 = ("pytorchcv:igcv3_w3d4", "pytorchcv:menet228_12x1_g3", "pytorchcv:menet348_12x1_g3",
                    "pytorchcv:espnetv2_w1", "pytorchcv:hardnet85", "pytorchcv:fishnet150", "pytorchcv:diracnet34v2",
                    "pytorchcv:sqnxt23v5_w2",
                    "pytorchcv:resattnet92", "pytorchcv:scnet101", "pytorchcv:isqrtcovresnet101",
                    "timm:twins_pcpvt_base", "pytorchcv:menet160_8x1_g8", "pytorchcv:seresnet101",
                    "pytorchcv:ibn_densenet169", "pytorchcv:resnesta101", "pytorchcv:darknet_ref",
                    "pytorchcv:preresnet101", "pytorchcv:ibn_resnext101_32x4d")
WANTED_NEAR3 = 12
#: the fourth near-family set (``--nearfamily4``), fixed before the screen ran: one unmeasured size / depth / width
#: variant per family the fit has (set 11's MONAI families excluded), no family an earlier near-family set varied,
#: families with one fitted model, most recently fitted first (set 10's in its order, then set 9's, ...); in each
#: family the configuration closest in forward MACs (thop, 1x224x224) to the fitted one (the larger if two tie), of
#: the source's own models, for mmpretrain and vit-pytorch a published size added to their CONFIGS (mmpretrain's
#: arch names, RepMLPNet-T224, CvT-21, CrossFormer-S, ScalableViT-S). Set 10's PyramidNet has no unmeasured ImageNet
#: variant; HorNet's ``-gf`` archs (global filters) and pytorchcv's ``b`` / ``bc`` ResNets (another stride or block)
#: are no size variants. The first 12 that pass checks 2 to 4 (one per family) are taken
CANDIDATES_NEAR4 = ("mmpretrain:van_b1", "mmpretrain:hornet_s", "mmpretrain:replknet_31b", "mmpretrain:repmlpnet_t",
                    "mmpretrain:conformer_s", "mmpretrain:hivit_s", "mmpretrain:vig_s", "mmpretrain:revvit_t",
                    "timm:lcnetv2_small", "pytorchcv:airnet50_1x64d_r16", "pytorchcv:bam_resnet34",
                    "pytorchcv:cbam_resnet34", "pytorchcv:diaresnet34", "pytorchcv:sparsenet169",
                    "pytorchcv:sharesnet34",
                    "vitpytorch:cvt_21", "vitpytorch:crossformer_s", "vitpytorch:scalablevit_s_full")
WANTED_NEAR4 = 12
#: the fifth near-family set tests the other end of the family offsets' shrinkage: lineages
#: (:func:`greenai.predict.model.lineage`) of which the H200's fit has at least ``NEAR5_MIN_FITTED`` models. Rule, fixed
#: before it ran (``--nearfamily5``, :func:`near5_plan`): the lineages in order of fitted models (most first, ties by
#: name); a lineage's candidates are every torchvision, timm and pytorchcv model of it with no row in any
#: ``results/raw/*.csv`` and whose bare name no measured model has (``timm:resnet50`` is torchvision's), and whose
#: forward MACs (thop, 1x224x224, 10 classes) differ by at least ``NEAR5_MIN_MAC_CHANGE`` from each fitted model of
#: the lineage (a copy under another name is no variant); in order of closeness to the geometric mean of the fitted
#: models' MACs, the first that passes checks 2 to 4 is the lineage's; the first 12 lineages with one are taken.
#: The sixth near-family set (``--nearfamily6``) repeats the fifth's test with the fit and its offsets as frozen
#: after the twelfth held-out set: the same rule drawn again after the fifth set was measured (its models are then
#: measured, so no candidate), with two amendments fixed before it ran, so that no variant is a copy of one measured
#: before: bare names are compared without underscores (``timm:regnetx_040`` is the fifth set's
#: ``pytorchcv:regnetx040``), and a candidate's MACs also differ by ``NEAR5_MIN_MAC_CHANGE`` from every model of
#: its lineage an earlier near-family set measured (:func:`near_variant_macs`)
NEAR5_MIN_FITTED = 2
NEAR5_MIN_MAC_CHANGE = 0.05
WANTED_NEAR5 = 12
#: timm families equivalent to torchvision's ViT, excluded from sets 5 to 7
VIT_FAMILIES = ("vision_transformer", "deit", "beit", "eva", "vision_transformer_hybrid")
#: further timm families of plain ViTs (relative positions, SAM's encoder, NaFlex, the ViT encoders of
#: vision-language models), excluded from set 7 as ViT-equivalent too
VIT_FAMILIES7 = ("vision_transformer_relpos", "vision_transformer_sam", "naflexvit", "gemma4_vit", "qwen3_vit",
                 "deepseek_vit")
#: timm families that reimplement a torchvision family under a module name the torchvision check does not
#: catch (timm family -> torchvision family), excluded from set 7
NEAR_COPIES7 = {"maxxvit": "maxvit", "swin_transformer": "swin", "swin_transformer_v2": "swin_v2",
                "swin_transformer_v2_cr": "swin_v2"}
#: modules of pytorchcv (and timm) that reimplement a family the zoo, torchvision or an earlier set has under
#: another module name (family -> what it copies), excluded from set 8
NEAR_COPIES8 = {"preresnet": "timm resnetv2 (set 6)", "efficientnetedge": "efficientnet", "mobilenetb": "mobilenet",
                "fdmobilenet": "mobilenet", "zfnet": "alexnet", "bninception": "googlenet", "resneta": "resnet",
                "resnetd": "resnet", "ibnresnet": "resnet", "ibnbresnet": "resnet", "ibnresnext": "resnext",
                "wrn": "wide_resnet", "xdensenet": "densenet", "ibndensenet": "densenet",
                "seresnet": "timm senet (set 6)", "sepreresnet": "timm senet (set 6)",
                "seresnext": "timm senet (set 6)", "fastseresnet": "timm senet (set 6)",
                "resnesta": "timm resnest (set 4)", "darknet": "timm cspnet (set 4)",
                "darknet53": "timm cspnet (set 4)", "cspnext": "timm cspnet (set 4)",
                "fbnet": "timm efficientnet", "spnasnet": "timm efficientnet", "mixnet": "timm efficientnet",
                "proxylessnas": "mnasnet", "inceptionresnetv1": "timm inception_resnet_v2 (set 7)"}
#: modules of vit-pytorch that reimplement a family torchvision, timm or an earlier set has (family -> what it copies),
#: excluded from set 9 (and not among its candidates)
NEAR_COPIES9 = {"vit": "torchvision's vit", "simple_vit": "torchvision's vit (sin-cos positions, mean pooling)",
                "simple_vit_with_fft": "torchvision's vit (a frequency-patch branch)",
                "simple_vit_with_hyper_connections": "torchvision's vit (hyper-connection residuals)",
                "simple_vit_with_patch_dropout": "torchvision's vit (patch dropout in training only)",
                "simple_vit_with_qk_norm": "torchvision's vit (normalized queries and keys)",
                "simple_vit_with_register_tokens": "torchvision's vit (register tokens)",
                "simple_vit_with_relative_proj_pos_bias": "torchvision's vit (a relative position bias)",
                "simple_vit_with_sparse_gating": "torchvision's vit (gated tokens)",
                "simple_vit_with_specialized_cls": "torchvision's vit (class-token projections)",
                "simple_vit_with_value_residual": "torchvision's vit (value residuals)",
                "simple_vit_attn_residual": "torchvision's vit (attention residuals)",
                "simple_vit_orthog_residual_update": "torchvision's vit (orthogonal residual updates)",
                "attn_residual_with_dca_simple_vit": "torchvision's vit (a simple_vit with composed attention)",
                "simple_flash_attn_vit": "torchvision's vit (flash attention kernel)",
                "efficient": "torchvision's vit (any transformer in a ViT shell)",
                "vit_5": "torchvision's vit (RMS norm, rotary positions, registers)",
                "vit_detpool": "torchvision's vit (mask pooling; without a mask a ViT)",
                "vit_with_decorr": "torchvision's vit (a decorrelation loss in training only)",
                "vit_with_keel_post_ln": "torchvision's vit (post-norm with a residual scale)",
                "vit_with_patch_dropout": "torchvision's vit (patch dropout in training only)",
                "learnable_memory_vit": "torchvision's vit (memory tokens only through its fine-tuning Adapter)",
                "cait": "timm cait", "cross_vit": "timm crossvit (set 7)", "levit": "timm levit (set 4)",
                "max_vit": "torchvision's maxvit", "max_vit_with_registers": "torchvision's maxvit",
                "mobile_vit": "timm mobilevit (set 4)", "nest": "timm nest", "pit": "timm pit",
                "twins_svt": "timm twins (set 8)", "xcit": "timm xcit (set 5)"}
#: modules that reimplement, or only vary, a family an earlier set, the fit or a set-10 candidate has (family -> what it
#: copies), excluded from set 10 (and not among its candidates)
NEAR_COPIES10 = {"riformer": "timm metaformer (set 4's PoolFormer with an identity token mixer)",
                 "mixmim": "torchvision's swin (MixMIM's encoder classifies as a Swin)",
                 "t2t_vit": "vit-pytorch t2t (set 9)", "shufflenet_v1": "pytorchcv menet (set 8, ShuffleNet's blocks)",
                 "shufflenet": "pytorchcv menet (set 8, ShuffleNet's blocks)",
                 "airnext": "pytorchcv airnet (a set-10 candidate, with grouped convolutions)",
                 "diapreresnet": "pytorchcv diaresnet (a set-10 candidate, pre-activation)"}
#: monai modules that reimplement, or only vary, a family the zoo, torchvision, an earlier source or a set-11 candidate
#: has (family -> what it copies), excluded from set 11 (and not among its candidates)
NEAR_COPIES11 = {"densenet": "torchvision's densenet", "senet": "timm senet (set 6)",
                 "efficientnet": "torchvision's efficientnet", "resnet": "torchvision's resnet",
                 "vit": "torchvision's vit",
                 "vitautoenc": "torchvision's vit (a ViT, then two transposed convolutions)",
                 "navit": "torchvision's vit (packed images of varying size, attention pooling)",
                 "torchvision_fc": "torchvision's models (a torchvision classifier with a new head)",
                 "milmodel": "torchvision's resnet (a ResNet-50 encoder and attention pooling over instances)",
                 "flexible_unet": "torchvision's efficientnet / resnet (their encoders and a light U-Net decoder)",
                 "segresnet_ds": "monai segresnet (a set-11 candidate, reimplemented with deep supervision)",
                 "varautoencoder": "monai autoencoder (a set-11 candidate, a dense latent bottleneck added)",
                 "regressor": "monai classifier (a set-11 candidate: Classifier is a Regressor)"}
#: pytorchcv dense-prediction modules that reimplement a family an earlier set has (family -> what it copies), excluded
#: from set 12 (and not among its candidates)
NEAR_COPIES12 = {"unet": "monai unet (set 11)"}
#: packages an install of timm alone (--no-deps) lacks: unimportable during the screens of sets 5 to 7
BARE_MISSING = ("huggingface_hub", "safetensors", "yaml")
WANTED = 16
#: forward MACs per sample allowed [MAC] (thop, 1x224x224)
MACS_RANGE = (0.3e9, 10e9)


def _squash(family: str) -> str:
    """A family's name without underscores (``inception_v4`` = pytorchcv's ``inceptionv4``)."""
    return str(family).replace("_", "")


def screen(name: str, taken_families: set, zoo_and_tv: set, excluded: dict | None = None,
           build_first: bool = False, bare_is_timm: bool = True) -> tuple[str, str, float]:
    """``(family, verdict, macs)`` of ``timm:name``: verdict ``taken`` or why it was dropped.

    ``excluded`` maps further excluded families to the reason (set 5); ``build_first``
    builds the model (1 plane, 10 classes) before counting its MACs, a failure dropping it;
    ``bare_is_timm=False`` reads a name without a source as a torchvision model.
    """
    import torch

    from greenai.macs import count_model
    from greenai.models import UnknownModelError, build_model, model_info
    from greenai.models.timm_models import has_torchvision_counterpart
    from greenai.operator_times import step_operators
    from greenai.predict.features import compute_model_features

    key = name if ":" in name or not bare_is_timm else f"timm:{name}"  # set 8 names its source
    try:
        family = model_info(key)["family"]
    except UnknownModelError:
        return "?", "not a model of this timm", math.nan
    if has_torchvision_counterpart(family, zoo_and_tv):
        return family, f"family {family!r} is a torchvision/zoo family", math.nan
    squashed = {_squash(f): f for f in taken_families}
    if _squash(family) in squashed:
        return family, f"family {family!r} already taken", math.nan
    reasons = {_squash(f): why for f, why in (excluded or {}).items()}
    if _squash(family) in reasons:
        return family, f"family {family!r} {reasons[_squash(family)]}", math.nan
    if build_first:
        try:
            build_model(key, 1, 10)
        except Exception as exc:  # noqa: BLE001
            return family, f"does not build without {'/'.join(BARE_MISSING)}: {type(exc).__name__}: " \
                           f"{str(exc)[:120]}", math.nan
    try:
        macs = float(count_model(key, 1, 10, 224)["macs"])
    except Exception as exc:  # noqa: BLE001 - the campaign counts every row's MACs the same way
        return family, f"MAC count (thop) failed: {type(exc).__name__}: {str(exc)[:120]}", math.nan
    if not MACS_RANGE[0] <= macs <= MACS_RANGE[1]:
        return family, f"{macs / 1e9:.3f} GMAC outside {MACS_RANGE[0] / 1e9:g}-{MACS_RANGE[1] / 1e9:g}", macs
    try:
        compute_model_features(key, 1, 10)
        step_operators(key, 1, 10, 256)
    except Exception as exc:  # noqa: BLE001 - any failure drops the candidate
        return family, f"static features on meta failed: {type(exc).__name__}: {str(exc)[:120]}", macs
    try:
        torch.manual_seed(0)
        net = build_model(key, 1, 10).train()
        logits = net(torch.randn(2, 1, 224, 224))
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1]))
        loss.backward()
        ok = logits.shape == (2, 10) and torch.isfinite(loss) and all(
            torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
    except Exception as exc:  # noqa: BLE001
        return family, f"CPU training step failed: {type(exc).__name__}: {str(exc)[:120]}", macs
    if not ok:
        return family, "CPU training step gave a wrong shape or non-finite values", macs
    return family, "taken", macs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=int, choices=sorted(CANDIDATES), default=4, dest="heldout_set",
                        help="which held-out set to screen (default 4)")
    parser.add_argument("--all", action="store_true", help="check every candidate, also after the 16th taken")
    parser.add_argument("--nearfamily2", action="store_true",
                        help="screen the second near-family set (CANDIDATES_NEAR2) instead of a held-out set")
    parser.add_argument("--nearfamily3", action="store_true",
                        help="screen the third near-family set (CANDIDATES_NEAR3) instead of a held-out set")
    parser.add_argument("--nearfamily4", action="store_true",
                        help="screen the fourth near-family set (CANDIDATES_NEAR4) instead of a held-out set")
    parser.add_argument("--nearfamily5", action="store_true",
                        help="screen the fifth near-family set (near5_plan: lineages the H200's fit has several "
                             "models of) instead of a held-out set")
    parser.add_argument("--nearfamily6", action="store_true",
                        help="screen the sixth near-family set (the fifth's rule, drawn again after it was measured: "
                             "names compared without underscores, no copy of an earlier near-family variant)")
    args = parser.parse_args(argv)
    if args.nearfamily5 or args.nearfamily6:
        return _near5(args.all, sixth=args.nearfamily6)
    if args.nearfamily2:
        return _near(CANDIDATES_NEAR2, WANTED_NEAR2, "NEARFAMILY2_MODELS", args.all)
    if args.nearfamily3:
        return _near(CANDIDATES_NEAR3, WANTED_NEAR3, "NEARFAMILY3_MODELS", args.all)
    if args.nearfamily4:  # mmpretrain's mmengine needs yaml, as in the screens of sets 10 and 11
        return _near(CANDIDATES_NEAR4, WANTED_NEAR4, "NEARFAMILY4_MODELS", args.all, blocked=BARE_MISSING[:2])
    if args.heldout_set >= 5:  # as with timm installed alone: none of timm's optional packages
        for mod in BARE_MISSING if args.heldout_set < 10 else BARE_MISSING[:2]:  # sets 10, 11: mmengine needs yaml
            sys.modules[mod] = None
    try:
        import timm
    except ImportError:
        print("timm_heldout_screen: needs timm: pip install 'greenai[timm]'", file=sys.stderr)
        return 2
    import torch

    from greenai.models import ZOO_FAMILIES
    from greenai.models.torchvision_models import torchvision_family, torchvision_names

    torch.set_num_threads(2)
    zoo_and_tv = set(ZOO_FAMILIES) | {torchvision_family(n) for n in torchvision_names()}
    excluded: dict[str, str] = {}
    if args.heldout_set >= 5:
        from greenai.models import model_info
        from greenai.models.sets import HELDOUT4_MODELS, HELDOUT5_MODELS, HELDOUT6_MODELS, HELDOUT7_MODELS
        from greenai.models.synthetic import BLOCKS, KINDS_BLOCKS

        blocks = BLOCKS + KINDS_BLOCKS if args.heldout_set >= 6 else BLOCKS
        excluded.update({f: "is a synthetic block" for f in ("synthetic", *blocks)})
        vit = VIT_FAMILIES + VIT_FAMILIES7 if args.heldout_set >= 7 else VIT_FAMILIES
        excluded.update({f: "is ViT-equivalent (torchvision has ViT)" for f in vit})
        if args.heldout_set >= 7:
            excluded.update({f: f"reimplements torchvision's {tv}" for f, tv in NEAR_COPIES7.items()})
        excluded.update({model_info(m)["family"]: f"taken by set 4 ({m})" for m in HELDOUT4_MODELS})
        if args.heldout_set >= 6:
            excluded.update({model_info(m)["family"]: f"taken by set 5 ({m})" for m in HELDOUT5_MODELS})
        if args.heldout_set >= 7:
            excluded.update({model_info(m)["family"]: f"taken by set 6 ({m})" for m in HELDOUT6_MODELS})
        if args.heldout_set >= 8:
            excluded.update({model_info(m)["family"]: f"taken by set 7 ({m})" for m in HELDOUT7_MODELS})
            excluded.update({f: f"reimplements {what}" for f, what in NEAR_COPIES8.items()})
            from greenai.models.pytorchcv_models import pytorchcv_available

            if not pytorchcv_available():
                print("timm_heldout_screen: set 8 needs pytorchcv: pip install 'greenai[pytorchcv]'", file=sys.stderr)
                return 2
        if args.heldout_set >= 9:
            from greenai.models.sets import HELDOUT8_MODELS, NEARFAMILY2_MODELS
            from greenai.models.vitpytorch_models import vitpytorch_available

            excluded.update({model_info(m)["family"]: f"taken by set 8 ({m})" for m in HELDOUT8_MODELS})
            excluded.update({model_info(m)["family"]: f"fitted in nearfamily2 ({m})" for m in NEARFAMILY2_MODELS})
            excluded.update({f: f"reimplements {what}" for f, what in NEAR_COPIES9.items()})
            if not vitpytorch_available():
                print("timm_heldout_screen: set 9 needs vit-pytorch: pip install 'greenai[vitpytorch]'",
                      file=sys.stderr)
                return 2
        if args.heldout_set >= 10:
            from greenai.models.mmpretrain_models import mmpretrain_available
            from greenai.models.sets import HELDOUT9_MODELS, NEARFAMILY3_MODELS

            excluded.update({model_info(m)["family"]: f"taken by set 9 ({m})" for m in HELDOUT9_MODELS})
            excluded.update({model_info(m)["family"]: f"fitted in nearfamily3 ({m})" for m in NEARFAMILY3_MODELS})
            excluded.update({f: f"reimplements {what}" for f, what in NEAR_COPIES10.items()})
            if not mmpretrain_available():
                print("timm_heldout_screen: set 10 needs mmpretrain: pip install 'greenai[mmpretrain]'",
                      file=sys.stderr)
                return 2
        if args.heldout_set >= 11:
            from greenai.models.monai_models import monai_available
            from greenai.models.sets import HELDOUT10_MODELS

            excluded.update({model_info(m)["family"]: f"taken by set 10 ({m})" for m in HELDOUT10_MODELS})
            excluded.update({f: f"reimplements {what}" for f, what in NEAR_COPIES11.items()})
            if not monai_available():
                print("timm_heldout_screen: set 11 needs monai: pip install 'greenai[monai]'", file=sys.stderr)
                return 2
        if args.heldout_set >= 12:
            from greenai.models.sets import HELDOUT11_MODELS, NEARFAMILY4_MODELS, NEARFAMILY5_MODELS

            excluded.update({model_info(m)["family"]: f"taken by set 11 ({m})" for m in HELDOUT11_MODELS})
            excluded.update({model_info(m)["family"]: f"measured in nearfamily4 ({m})" for m in NEARFAMILY4_MODELS})
            excluded.update({model_info(m)["family"]: f"measured in nearfamily5 ({m})" for m in NEARFAMILY5_MODELS})
            excluded.update({f: f"reimplements {what}" for f, what in NEAR_COPIES12.items()})
    print(f"set {args.heldout_set}: timm {timm.__version__}, torch {torch.__version__}")
    taken = _walk(CANDIDATES[args.heldout_set], WANTED, args.all, zoo_and_tv=zoo_and_tv, excluded=excluded,
                  build_first=args.heldout_set >= 5)
    keys = [n if ":" in n else f"timm:{n}" for n, _, _ in taken]
    print(f"HELDOUT{args.heldout_set}_MODELS = (" + ", ".join(f'"{k}"' for k in keys) + ")")
    return 0 if len(taken) == WANTED else 1


def _walk(candidates, wanted: int, check_all: bool, **checks) -> list[tuple[str, str, float]]:
    """Screen ``candidates`` in order (:func:`screen` with ``checks``, one model per family) and print a line each;
    the first ``wanted`` that pass, as ``(name, family, macs)``. Without ``check_all`` the rest is not checked."""
    taken: list[tuple[str, str, float]] = []
    for name in candidates:
        if len(taken) >= wanted and not check_all:
            print(f"{name:32s} {'':18s} not checked ({wanted} taken)")
            continue
        t0 = time.perf_counter()
        family, verdict, macs = screen(name, {f for _, f, _ in taken}, **checks)
        if verdict == "taken" and len(taken) >= wanted:
            verdict = f"passes, not needed ({wanted} taken)"
        elif verdict == "taken":
            taken.append((name, family, macs))
        print(f"{name:32s} {family:18s} {macs / 1e9:7.3f} GMAC  {verdict}  ({time.perf_counter() - t0:.1f} s)",
              flush=True)
    return taken


def _near(candidates: tuple[str, ...], wanted: int, tuple_name: str, check_all: bool,
          blocked: tuple[str, ...] = BARE_MISSING) -> int:
    """A near-family set: ``candidates`` through checks 2 to 4, one model per module, the first ``wanted``
    (``blocked``: the packages unimportable during the screen)."""
    for mod in blocked:
        sys.modules[mod] = None
    import torch

    from greenai.models.mmpretrain_models import mmpretrain_available
    from greenai.models.pytorchcv_models import pytorchcv_available
    from greenai.models.timm_models import timm_available
    from greenai.models.vitpytorch_models import vitpytorch_available

    sources = {"timm": ("timm", timm_available), "pytorchcv": ("pytorchcv", pytorchcv_available),
               "vitpytorch": ("vit-pytorch", vitpytorch_available),
               "mmpretrain": ("mmpretrain", mmpretrain_available)}
    for prefix in dict.fromkeys(n.split(":")[0] for n in candidates if ":" in n):
        package, available = sources[prefix]
        if not available():
            print(f"timm_heldout_screen: {tuple_name} needs {package}: pip install 'greenai[{prefix}]'",
                  file=sys.stderr)
            return 2
    torch.set_num_threads(2)
    taken = _walk(candidates, wanted, check_all, zoo_and_tv=set(), excluded=None, build_first=True)
    print(f"{tuple_name} = (" + ", ".join(f'"{n}"' for n, _, _ in taken) + ")")
    return 0 if len(taken) == wanted else 1


def near5_plan(runs, measured: set[str], candidates: list[str],
               squash_names: bool = False) -> list[tuple[str, dict[str, float], list[str]]]:
    """``(lineage, {fitted model: its MACs}, [its candidates])`` per lineage of which the H200's fit in ``runs``
    (:func:`greenai.predict.build.load_runs` without held-out rows) has ``NEAR5_MIN_FITTED`` or more models, in
    the rule's order. ``measured``: every model with a row in ``results/raw``; ``candidates``: the model names
    to draw from (torchvision, ``timm:``, ``pytorchcv:``); ``squash_names`` (the sixth set): bare names are
    compared without underscores (``timm:regnetx_040`` is pytorchcv's ``regnetx040``)."""
    from greenai.models import UnknownModelError, model_info
    from greenai.predict.model import lineage

    fitted: dict[str, dict[str, float]] = {}
    own = runs[runs["gpu_name"].str.contains("H200") & ~runs["synthetic"].astype(bool)]
    for model, rows in own.groupby("model"):
        fitted.setdefault(lineage(model_info(model)["family"]), {})[model] = float(rows["macs"].median())
    fitted = {name: models for name, models in fitted.items() if len(models) >= NEAR5_MIN_FITTED}

    def bare(model: str) -> str:
        return _squash(model.split(":")[-1]) if squash_names else model.split(":")[-1]

    bare_measured = {bare(m) for m in measured}
    drawn: dict[str, list[str]] = {name: [] for name in fitted}
    for name in candidates:
        if name in measured or bare(name) in bare_measured:
            continue
        try:
            family = model_info(name)["family"]
        except (UnknownModelError, ImportError):
            continue
        if lineage(family) in drawn:
            drawn[lineage(family)].append(name)
    order = sorted(fitted, key=lambda name: (-len(fitted[name]), name))
    return [(name, fitted[name], drawn[name]) for name in order]


def _near5(check_all: bool, sixth: bool = False) -> int:
    """The fifth near-family set (:data:`NEAR5_MIN_FITTED` ...): one model per lineage, the first
    :data:`WANTED_NEAR5` lineages that have one (huggingface_hub and safetensors unimportable; the fitted
    models' families need mmpretrain, whose mmengine needs yaml). ``sixth``: the sixth set, the same rule drawn
    again with :func:`near5_plan`'s ``squash_names`` and a candidate also ``NEAR5_MIN_MAC_CHANGE`` away from every
    model of its lineage an earlier near-family set measured (:func:`near_variant_macs`)."""
    for mod in BARE_MISSING[:2]:
        sys.modules[mod] = None
    import glob

    import pandas as pd
    import torch

    from greenai import paths
    from greenai.macs import count_model
    from greenai.models.pytorchcv_models import pytorchcv_available
    from greenai.models.timm_models import timm_available
    from greenai.models.torchvision_models import torchvision_names
    from greenai.predict.build import load_runs

    if not (timm_available() and pytorchcv_available()):
        print("timm_heldout_screen: NEARFAMILY5_MODELS needs timm and pytorchcv: pip install 'greenai[timm]' "
              "'greenai[pytorchcv]'", file=sys.stderr)
        return 2
    import pytorchcv.model_provider
    import timm

    torch.set_num_threads(2)
    measured: set[str] = set()
    for path in sorted(glob.glob(str(paths.RAW_DIR / "*.csv"))):
        measured |= set(pd.read_csv(path, usecols=lambda c: c == "model").get("model", pd.Series()).astype(str))
    names = (list(torchvision_names()) + [f"timm:{n}" for n in timm.list_models()]
             + [f"pytorchcv:{n}" for n in sorted(pytorchcv.model_provider._models)])
    earlier = near_variant_macs() if sixth else {}
    tuple_name = "NEARFAMILY6_MODELS" if sixth else "NEARFAMILY5_MODELS"
    taken: list[tuple[str, str, float]] = []
    for lineage_name, fitted, candidates in near5_plan(load_runs(include_heldout=False), measured, names,
                                                       squash_names=sixth):
        if len(taken) >= WANTED_NEAR5 and not check_all:
            print(f"{lineage_name:24s} not checked ({WANTED_NEAR5} taken)")
            continue
        centre = math.exp(sum(math.log(m) for m in fitted.values()) / len(fitted))
        counted = []
        for name in candidates:
            try:
                macs = float(count_model(name, 1, 10, 224)["macs"])
            except Exception as exc:  # noqa: BLE001 - a candidate that does not count is dropped
                print(f"  {name:40s} MAC count (thop) failed: {type(exc).__name__}")
                continue
            if min(abs(macs / m - 1.0) for m in fitted.values()) < NEAR5_MIN_MAC_CHANGE:
                print(f"  {name:40s} {macs / 1e9:8.3f} GMAC: within {NEAR5_MIN_MAC_CHANGE:.0%} of a fitted model")
                continue
            if any(abs(macs / m - 1.0) < NEAR5_MIN_MAC_CHANGE for m in earlier.get(lineage_name, {}).values()):
                print(f"  {name:40s} {macs / 1e9:8.3f} GMAC: within {NEAR5_MIN_MAC_CHANGE:.0%} of an earlier "
                      f"near-family variant")
                continue
            counted.append((abs(math.log(macs / centre)), name))
        verdict = "no candidate passes"
        for _, name in sorted(counted):
            _, verdict, macs = screen(name, set(), zoo_and_tv=set(), build_first=True, bare_is_timm=False)
            print(f"  {name:40s} {macs / 1e9:8.3f} GMAC: {verdict}")
            if verdict == "taken":
                taken.append((name, lineage_name, macs))
                break
        print(f"{lineage_name:24s} {len(fitted)} fitted, centre {centre / 1e9:.3f} GMAC, {len(candidates)} "
              f"candidates: {taken[-1][0] if verdict == 'taken' else verdict}")
    print(f"{tuple_name} = (" + ", ".join(f'"{n}"' for n, _, _ in taken[:WANTED_NEAR5]) + ")")
    return 0 if len(taken) >= WANTED_NEAR5 else 1


def near_variant_macs() -> dict[str, dict[str, float]]:
    """``{lineage: {model: forward MACs per sample}}`` of every model the near-family sets measured
    (``results/raw/kpi_nearfamily*.csv``, their ``macs`` column), anchors left out."""
    import glob

    import pandas as pd

    from greenai import paths
    from greenai.models import model_info
    from greenai.models.sets import HELDOUT_ANCHORS
    from greenai.predict.model import lineage

    variants: dict[str, dict[str, float]] = {}
    for path in sorted(glob.glob(str(paths.RAW_DIR / "kpi_nearfamily*.csv"))):
        rows = pd.read_csv(path, usecols=["model", "macs"])
        for model, macs in rows[~rows["model"].isin(HELDOUT_ANCHORS)].groupby("model")["macs"].median().items():
            variants.setdefault(lineage(model_info(model)["family"]), {})[model] = float(macs)
    return variants


if __name__ == "__main__":
    sys.exit(main())
