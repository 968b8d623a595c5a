"""DEcode (Tasaki et al., Nat Mach Intell 2:376, 2020): tissue expression from regulator binding sites.

Modules: ``features`` (preprocessing, splits, batches), ``model`` (the pure
``nn.Module``), ``estimator`` (training / prediction / save / load),
``evaluate`` (end-to-end training, test metrics, ridge baseline, branch
ablation), ``attribution`` (DeepLIFT / DeepSHAP), ``edits`` (in-silico
disruption, knockout, co-expression experiment), ``validate`` (command line).
torch is imported only inside the functions that need it.
"""

from core.decode.features import DecodePreprocessor, Split, make_split

__all__ = ["DecodePreprocessor", "Split", "make_split"]
