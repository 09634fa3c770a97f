"""Energy to accuracy: the campaign's learning-curve grids, curve fitting and the
energy-to-target computation (thesis 4.2.3)."""

from greenai import campaign
from greenai import experiments as ex


def test_accuracy_grids_train_30_real_epochs_with_accuracy():
    for dataset in ("fashion_mnist", "cifar10", "cifar100"):
        specs = campaign.EXPERIMENTS[f"accuracy_{dataset}"].specs()
        ex.validate(specs, check_data=False)
        assert {s.model for s in specs} == {"alexnet", "resnet18"}
        assert {(s.dataset, s.source, s.precision, s.batch_size, s.image_size) for s in specs} == {
            (dataset, "real", campaign.ACCURACY_PRECISION, 256, 224)}
        # full epochs (no window, no step cap) with test accuracy after each, checkpointed between epochs
        assert all(s.epochs >= 30 and s.evaluate and s.max_steps is None and s.window_s is None for s in specs)
    assert campaign.EXPERIMENTS["accuracy_cifar10"].csv == "accuracy_cifar10"
    assert "accuracy_cifar100" not in campaign.DEFAULT_EXPERIMENTS  # needs files we cannot download offline
    # the smoke grid runs on synthetic data without accuracy (a CPU cannot train 30 epochs)
    quick = campaign.EXPERIMENTS["accuracy_fashion_mnist"].specs(quick=True)
    assert all(s.source == "synthetic" and not s.evaluate for s in quick)
