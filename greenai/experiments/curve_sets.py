"""The models and settings of the learning-curve sets: the thesis' 30-epoch accuracy runs, the ``accuracy_curves``
grid the population prior of energy to accuracy learns from, and the fresh sets that test it, each chosen by a rule
written beside it before any of its curves was recorded (:mod:`greenai.experiments.registry` builds their
experiments; :mod:`greenai.curve_prior` reads their CSVs)."""

from __future__ import annotations

#: measured epochs of each ``accuracy_*`` run (learning curves, thesis 4.2.3)
ACCURACY_EPOCHS = 30
#: precision of the ``accuracy_*`` runs: bf16 autocast, the fastest mode the trainer has (1.6x faster than
#: ``default`` for AlexNet, 1.1x for ResNet18 on an H100, ``kpi_precision``), so that 2 models x 30 epochs
#: of one dataset fit in about 6-7 minutes of one H200; recorded in every row's ``precision``
ACCURACY_PRECISION = "bf16"


#: models of the ``accuracy_curves`` grid: six zoo models and two torchvision families outside the zoo
CURVE_MODELS = ("resnet18", "resnet34", "vgg11", "mobilenet_v2", "googlenet", "shufflenet_v2_x1_0",
                "regnet_y_400mf")
#: AlexNet's 11x11/4 stem and three poolings need at least 64 px; it trains at this size in ``accuracy_curves``
CURVE_ALEXNET_IMAGE_SIZE = 64
#: image size [px] of the other ``accuracy_curves`` runs: CIFAR-10's own, Fashion-MNIST's 28 px resized up
#: (224 px, as the thesis, costs ~49x the work per epoch; 16 runs x 30 epochs would not fit a campaign slot)
CURVE_IMAGE_SIZE = 32
#: CIFAR-10 training images of the ``accuracy_curves`` runs: the first two of its five training batches (the
#: test set is whole); Fashion-MNIST trains on all 60,000
CURVE_CIFAR10_LIMIT = 20_000


#: models of the ``accuracy_curves_fresh`` grid, chosen before any of their curves was recorded: notebook 06 predicts
#: them from a prior of the curves recorded before (a fresh test of energy to accuracy; none of them is in
#: ``CURVE_MODELS``); once tested they are recorded curves like the others
FRESH_CURVE_MODELS = ("squeezenet1_1", "resnet50", "efficientnet_b0", "mnasnet1_0")
#: models of the ``accuracy_curves_fresh2`` grid, chosen before any of their curves was recorded: a fresh test of the
#: prior a user gets now (every curve recorded before them, ``accuracy_curves_fresh`` included). Torchvision families
#: with no recorded curve whose normalisation settles within a run: batch norm of momentum >= 0.01, or layer norm.
#: (MNASNet's batch-norm momentum is 0.0003: after the 2,370 steps of a CIFAR-10 run its test-mode statistics still
#: weigh their initial values by about half, which is why it stayed at chance in ``accuracy_curves_fresh``.)
FRESH2_CURVE_MODELS = ("densenet121", "mobilenet_v3_large", "convnext_tiny", "swin_t")
#: models of the ``accuracy_curves_fresh3`` grid, chosen before any of their curves was recorded: a third fresh test of
#: the prior and of the typical-epoch yardstick (``greenai.curve_prior``), both unchanged since the second. Torchvision
#: has no family left that trains at 32 px (ViT and MaxViT fix 224 px, Inception-v3 needs 75 px), so the families of
#: the held-out sets of the energy predictor. Rule, fixed before it was applied: walk the held-out sets in the order
#: they were measured (set 4 first) and take the first four models, one per family, whose forward pass launches no
#: more kernels than ResNet-34's (the static pass's ``kernels_forward`` at 224 px: 198; at 32 px a step's time is
#: mostly launches, and 8 runs of 30 epochs must fit a measuring call), that train one step at 32x32 with 1 and with 3
#: planes (10 classes) and whose batch norms, if any, have a momentum of at least 0.01 (as for the second set). Taken:
#: VoVNet-19 (depthwise), PoolFormer-S12, PVTv2-B1 and NF-ResNet-26 (no normalisation); MLP-Mixer, whose patch
#: embedding fixes 224 px, was passed over
FRESH3_CURVE_MODELS = ("timm:ese_vovnet19b_dw", "timm:poolformer_s12", "timm:pvt_v2_b1", "timm:nf_resnet26")
#: models of the ``accuracy_curves_fresh4`` grid, chosen before any of their curves was recorded: a fourth fresh test of
#: the prior and the yardsticks (``greenai.curve_prior``), the prior unchanged since the second. The third set's rule,
#: walked on past the four it took (families of every earlier curve passed over): SE-ResNet-18 (the original SENet
#: variant), StarNet-S2, MambaOut-Femto and FasterNet-T1 (from sets 6 and 7; every model it passed over after
#: NF-ResNet-26 launches more kernels than ResNet-34)
FRESH4_CURVE_MODELS = ("timm:legacy_seresnet18", "timm:starnet_s2", "timm:mambaout_femto", "timm:fasternet_t1")
#: models of the ``accuracy_curves_fresh5`` grid, chosen before any of their curves was recorded: a fifth fresh test of
#: the prior and the yardsticks, both unchanged since the fourth (the same-dataset yardstick's second). The third
#: set's rule, walked on past the eight the third and fourth sets took: MONAI's QuickNAT, HighResNet, AttentionUNet
#: and RegUNet (set 11's first four after Basic UNet++, whose family an earlier curve lacks but which launches more
#: kernels than ResNet-34; every model of sets 8 to 10 and the rest of set 7 fails a check or repeats a family)
FRESH5_CURVE_MODELS = ("monai:quicknat", "monai:highresnet", "monai:attentionunet", "monai:regunet")
#: models of the ``accuracy_curves_fresh6`` grid, chosen before any of their curves was recorded: a sixth fresh test, of
#: the prior and the yardsticks (unchanged since the fifth) and of candidate C4 (``curve_prior.anchored_validation``,
#: frozen before this set was chosen). The third set's rule, walked on past the twelve the third to fifth sets took:
#: MONAI's SegResNet, VQ-VAE, AutoEncoder and BasicUNet (set 11's next four; UNETR, Swin-UNETR, AHNet and the KL
#: autoencoder launch more kernels than ResNet-34)
FRESH6_CURVE_MODELS = ("monai:segresnet", "monai:vqvae", "monai:autoencoder", "monai:basic_unet")
#: models of the ``accuracy_curves_fresh7`` grid, chosen before any of their curves was recorded: a seventh fresh test,
#: of the prior and the yardsticks (unchanged since the fifth) and candidate C4's second (``anchored_validation``,
#: frozen since commit 168cbca, before the sixth set was chosen). The third set's rule, walked on past the sixteen the
#: third to sixth sets took: MONAI's UNet and DynUNet (set 11's last two that pass; its Classifier fails at 32 px, its
#: instance norm given a 1x1 map) and pytorchcv's LinkNet and CenterNet (ResNet-18) of set
#: 12 (ERFNet, ESNet, EDANet, DABNet, CGNet, ENet, ICNet, PRNet and the CMU-Panoptic OpenPose launch more kernels than
#: ResNet-34; BiSeNet and LFFD fail at 32 px, a size mismatch and a kernel larger than its input)
FRESH7_CURVE_MODELS = ("monai:unet", "monai:dynunet", "pytorchcv:linknet_cityscapes",
                       "pytorchcv:centernet_resnet18_voc")
