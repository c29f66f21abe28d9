"""sparsesim: sparse DNN training/inference co-design from one workload.yaml."""

__version__ = "0.1.0"
