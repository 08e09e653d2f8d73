"""``torch.autograd``'s names: ``from tinygrad_cnn.autograd import Function, gradcheck``."""
from .function import Function
from .grad_mode import detect_anomaly, enable_grad, no_grad, set_grad_enabled
from .gradcheck import gradcheck

__all__ = ["Function", "gradcheck", "detect_anomaly", "no_grad", "enable_grad", "set_grad_enabled"]
