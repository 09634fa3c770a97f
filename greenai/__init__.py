"""greenai: measure, explain, predict and schedule the energy of training
deep-learning models on GPUs.

A research compendium reproducing the thesis "Energy Sustainability Analysis of
Machine Learning Algorithms". Each module has one concern; the notebooks in
``notebooks/`` call into them.
"""

__version__ = "0.1.0"
