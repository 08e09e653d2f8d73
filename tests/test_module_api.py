"""nn.Module's API and the containers, without PyTorch: registration rules, hooks,
state_dict/load_state_dict (assign, prefix, atomicity), dtype methods, container operations.
(nn.init and nn.utils: test_init_utils.py.)"""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, nn
from tinygrad_cnn.nn.utils import clip_grad_norm_


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.register_buffer("count", np.zeros(1, np.int64))
        self.register_buffer("cache", np.zeros(2), persistent=False)


# ----------------------------------------------------------------------------------------------
# imports, registration


def test_names_importable_from_nn_and_their_modules():
    from tinygrad_cnn.nn import _parameter_containers, containers, module
    for mod, names in ((module, ("Module", "Parameter", "IncompatibleKeys", "RemovableHandle")),
                       (containers, ("Sequential", "ModuleList", "ModuleDict")),
                       (_parameter_containers, ("ParameterList", "ParameterDict"))):
        for name in names:
            assert getattr(mod, name) is getattr(nn, name, getattr(mod, name))
    assert nn.Sequential is containers.Sequential and nn.ParameterDict is _parameter_containers.ParameterDict
    assert nn.utils.clip_grad_norm_ is clip_grad_norm_
    import tinygrad_cnn.nn.utils.clip_grad as cg
    assert cg.clip_grad_norm_ is clip_grad_norm_


def test_registration_errors_name_the_problem():
    m = nn.Linear(1, 1)
    with pytest.raises(TypeError, match="buffer name should be a string"):
        m.register_buffer(1, np.zeros(1))
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", np.zeros(1))
    with pytest.raises(KeyError, match="empty string"):
        m.register_parameter("", None)
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        m.register_buffer("weight", np.zeros(1))
    with pytest.raises(KeyError, match="attribute 'forward' already exists"):
        m.add_module("forward", nn.ReLU())
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        m.add_module("c", 3)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' object to parameter 'c'"):
        m.register_parameter("c", Tensor(np.zeros(1)))
    with pytest.raises(TypeError, match="to parameter 'd'"):
        m.register_parameter("d", nn.Parameter(np.zeros(1)) * 2)   # a result is a Tensor, not a Parameter
    with pytest.raises(TypeError, match="cannot assign 'str' object to buffer"):
        m.register_buffer("e", "text")
    with pytest.raises(ValueError, match="boolean"):
        m.train(1)
    m.register_module("act", nn.ReLU())
    assert m.act is m._modules["act"]

    class Early(nn.Module):
        def __init__(self):
            self.register_buffer("x", np.zeros(1))

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Early()


def test_reassignment_moves_between_registries_and_dir():
    m = Block()
    m.fc = nn.Parameter(np.zeros(1))          # a module slot becomes a parameter
    assert "fc" in m._parameters and "fc" not in m._modules
    with pytest.raises(TypeError, match="as parameter 'fc'"):
        m.fc = nn.Tanh()                      # as PyTorch: a parameter slot takes a Parameter or None
    m.fc = None
    del m.fc
    m.fc = nn.Tanh()
    assert "fc" in m._modules and "fc" not in m._parameters
    m.cache = None
    assert m.cache is None and "cache" in m._buffers
    del m.count
    assert "count" not in m._buffers and not hasattr(m, "count")
    seq = nn.Sequential(nn.ReLU())
    assert "0" not in dir(seq) and "forward" in dir(seq)
    assert {"fc", "cache"} <= set(dir(m))


def test_train_calls_each_child_train():
    calls = []

    class Frozen(nn.Module):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(False)   # e.g. a frozen BatchNorm

    net = nn.Sequential(nn.ReLU(), Frozen())
    net.train()
    assert net.training and net[0].training and not net[1].training and calls == [True]
    net.eval()
    assert calls == [True, False] and not any(m.training for m in net.modules())


def test_zero_grad_and_requires_grad():
    m = nn.Linear(2, 2)
    m(Tensor(np.ones((1, 2), np.float32))).sum().backward()
    grad = m.weight.grad
    m.zero_grad(set_to_none=False)
    assert m.weight.grad is grad and not grad.numpy().any() and not grad.requires_grad
    m.zero_grad()
    assert m.weight.grad is None
    assert m.requires_grad_(False) is m and not any(p.requires_grad for p in m.parameters())


def test_deepcopy_and_pickle_keep_structure_and_hooks():
    m = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    seen = []
    m.register_forward_hook(lambda mod, args, out: seen.append(1))
    clone = copy.deepcopy(m)
    assert list(clone.state_dict()) == list(m.state_dict())
    clone(Tensor(np.ones((1, 2), np.float32)))
    assert seen == [1]
    state = m.__dict__.copy()
    for name in ("_forward_hooks", "_forward_pre_hooks"):    # as pickled before hooks existed
        del state[name]
    restored = nn.Sequential.__new__(nn.Sequential)
    restored.__setstate__(state)
    assert restored._forward_hooks == OrderedDict()
    plain = pickle.loads(pickle.dumps(nn.Sequential(Block())))
    assert list(plain.state_dict()) == ["0.count", "0.fc.weight", "0.fc.bias"]


# ----------------------------------------------------------------------------------------------
# state_dict / load_state_dict


def test_state_dict_prefix_destination_and_positional_args():
    m = Block()
    dest = OrderedDict(existing=1)
    out = m.state_dict(destination=dest, prefix="b.")
    assert out is dest and list(out) == ["existing", "b.count", "b.fc.weight", "b.fc.bias"]  # own buffers first
    with pytest.warns(FutureWarning, match="positional"):
        legacy = m.state_dict(None, "p.", True)
    assert list(legacy) == ["p.count", "p.fc.weight", "p.fc.bias"] and legacy["p.fc.weight"] is m.fc.weight
    assert "cache" not in m.state_dict() and "cache" in dict(m.named_buffers())


def test_state_dict_honours_overridden_save():
    class Extra(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(np.ones(1))

        def _save_to_state_dict(self, destination, prefix, keep_vars):
            super()._save_to_state_dict(destination, prefix, keep_vars)
            destination[prefix + "note"] = np.array(3)

    assert list(nn.Sequential(Extra()).state_dict()) == ["0.w", "0.note"]


def test_load_state_dict_is_atomic_and_bumps_versions():
    m = Block()
    good = m.state_dict()
    before = m.fc.weight.numpy().copy()
    bad = dict(good, **{"fc.weight": good["fc.weight"] + 1, "fc.bias": np.zeros(5)})
    with pytest.raises(RuntimeError, match=r"fc.bias: expected \(2,\), got \(5,\)"):
        m.load_state_dict(bad)
    np.testing.assert_array_equal(m.fc.weight.numpy(), before)
    version = m.fc.weight._version[0]
    result = m.load_state_dict(dict(good, **{"fc.weight": good["fc.weight"] + 1}))
    assert repr(result) == "<All keys matched successfully>" and m.fc.weight._version[0] == version + 1
    x = Tensor(np.ones((1, 2), np.float32), requires_grad=True)
    y = x * m.fc.bias  # mul saves its inputs for backward
    m.load_state_dict(good)
    with pytest.raises(RuntimeError, match="in-place"):
        y.sum().backward()


def test_load_state_dict_assign():
    m = Block()
    weight = nn.Parameter(np.full((2, 2), 3.0))
    bias = np.array([1.0, 2.0])                      # float64: the module takes the dtype
    count = Tensor(np.array([5], np.int64))
    m.fc.weight.requires_grad_(False)
    m.load_state_dict({"fc.weight": weight, "fc.bias": bias, "count": count}, assign=True)
    assert m.fc.weight is weight and not weight.requires_grad    # keeps the module's requires_grad
    assert isinstance(m.fc.bias, nn.Parameter) and m.fc.bias.dtype == np.float64 and m.fc.bias.requires_grad
    assert np.shares_memory(m.fc.bias.numpy(), bias)
    assert m.count is count
    with pytest.raises(RuntimeError, match="floating-point"):
        m.load_state_dict({"fc.weight": np.zeros((2, 2), np.int64)}, strict=False, assign=True)
    with pytest.raises(RuntimeError, match="expected"):
        m.load_state_dict({"fc.weight": np.zeros(3)}, strict=False, assign=True)


# ----------------------------------------------------------------------------------------------
# dtype and device methods


def test_dtype_and_device_methods():
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm2d(2))
    weight = m[0].weight
    assert m.cpu() is m and m.double() is m and weight.dtype == np.float64 and m[0].weight is weight
    assert m[1].num_batches_tracked.dtype == np.int64
    m.type(tg.float32)
    assert weight.dtype == np.float32 and m[1].num_batches_tracked.dtype == np.float32   # every tensor
    m.type("torch.DoubleTensor")
    assert weight.dtype == np.float64
    with pytest.raises(TypeError, match="unknown type"):
        m.type("torch.HalfTensor")
    with pytest.raises(RuntimeError, match="floating-point"):
        m.type(tg.int64)
    assert weight.dtype == np.float64
    for refused in (m.half, m.bfloat16, lambda: m.to(np.float16)):
        with pytest.raises(TypeError, match="not supported"):
            refused()
    with pytest.raises(RuntimeError, match="CPU only"):
        m.cuda()
    with pytest.raises(TypeError, match="floating point"):
        m.to(tg.int64)
    assert m.to("cpu", memory_format=None, non_blocking=True) is m


# ----------------------------------------------------------------------------------------------
# hooks


class Scale(nn.Module):
    def forward(self, x, factor=1.0):
        return x * factor


def test_hook_order_prepend_and_replacement():
    m, order = Scale(), []
    m.register_forward_pre_hook(lambda mod, args: order.append("pre-a"))
    m.register_forward_pre_hook(lambda mod, args: order.append("pre-b") or args[0] + 1, prepend=True)
    m.register_forward_hook(lambda mod, args, out: order.append("post-a"))
    m.register_forward_hook(lambda mod, args, out: order.append("post-b") or out * 10, prepend=True)
    out = m(Tensor(np.array(1.0)), factor=3.0)
    assert order == ["pre-b", "pre-a", "post-b", "post-a"] and out.item() == 60.0


def test_hook_kwargs_and_bad_pre_hook_result():
    m = Scale()
    with m.register_forward_pre_hook(lambda mod, args, kw: (args, {"factor": 5.0}), with_kwargs=True):
        with m.register_forward_hook(lambda mod, args, kw, out: out + kw["factor"], with_kwargs=True):
            assert m(Tensor(np.array(2.0))).item() == 15.0
    assert m(Tensor(np.array(2.0))).item() == 2.0    # both removed on leaving the blocks
    with m.register_forward_pre_hook(lambda mod, args, kw: 5, with_kwargs=True):
        with pytest.raises(RuntimeError, match="must return None or a tuple"):
            m(Tensor(np.array(1.0)))


def test_always_call_hook_runs_when_forward_raises():
    class Fails(nn.Module):
        def forward(self, x):
            raise ValueError("forward failed")

    m, seen = Fails(), []
    m.register_forward_hook(lambda mod, args, out: seen.append("normal"))
    m.register_forward_hook(lambda mod, args, out: seen.append(("always", out)), always_call=True)

    def broken(mod, args, out):
        raise KeyError("hook failed")

    m.register_forward_hook(broken, always_call=True)
    with pytest.warns(UserWarning, match="hook failed"):
        with pytest.raises(ValueError, match="forward failed"):
            m(Tensor(np.array(1.0)))
    assert seen == [("always", None)]


def test_handles_remove_once_and_ids_differ():
    m = Scale()
    a = m.register_forward_hook(lambda *args: None)
    b = m.register_forward_hook(lambda *args: None, with_kwargs=True, always_call=True)
    assert a.id != b.id and list(m._forward_hooks) == [a.id, b.id]
    b.remove()
    b.remove()
    assert list(m._forward_hooks) == [a.id] and not m._forward_hooks_with_kwargs
    assert not m._forward_hooks_always_called
    with pytest.raises(TypeError, match="callable"):
        m.register_forward_hook("not a function")
    for register in (m.register_full_backward_hook, m.register_backward_hook, m.register_full_backward_pre_hook):
        with pytest.raises(NotImplementedError, match="backward hooks are not supported"):
            register(lambda *args: None)


def test_hooks_on_submodules_see_intermediate_outputs():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    captured = {}
    for name, module in net.named_children():
        module.register_forward_hook(lambda mod, args, out, name=name: captured.update({name: out.shape}))
    net(Tensor(np.ones((4, 2), np.float32)))
    assert captured == {"0": (4, 3), "1": (4, 3), "2": (4, 1)}


# ----------------------------------------------------------------------------------------------
# containers


def test_sequential_and_modulelist_operations():
    seq = nn.Sequential(nn.ReLU(), nn.Tanh())
    assert seq.insert(0, nn.Sigmoid()) is seq and [type(m).__name__ for m in seq] == ["Sigmoid", "ReLU", "Tanh"]
    assert isinstance(seq.pop(-1), nn.Tanh) and list(seq._modules) == ["0", "1"]
    with pytest.raises(IndexError):
        seq.insert(5, nn.ReLU())
    with pytest.raises(TypeError, match="not a Module"):
        seq.insert(0, "relu")
    assert len(seq + nn.Sequential(nn.ReLU())) == 3 and len(seq * 3) == 6
    with pytest.raises(ValueError, match="only objects of Sequential"):
        seq += [nn.ReLU()]
    with pytest.raises(TypeError, match="indices must be integers"):
        seq[True]
    ml = nn.ModuleList([nn.ReLU()])
    ml += [nn.Tanh()]
    ml.insert(-1, nn.Sigmoid())
    assert [type(m).__name__ for m in ml] == ["ReLU", "Sigmoid", "Tanh"]
    assert isinstance(ml + [nn.ReLU()], nn.ModuleList) and len(ml[1:]) == 2
    with pytest.raises(NotImplementedError):
        ml(Tensor(np.zeros(1)))


def test_module_dict():
    md = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Tanh()})
    assert list(md) == ["b", "a"] and list(md.keys()) == ["b", "a"] and "a" in md and len(md) == 2
    md["c"] = nn.Sigmoid()
    md.update([("d", nn.ReLU())])
    assert [n for n, _ in md.named_children()] == ["b", "a", "c", "d"]
    assert isinstance(md.pop("a"), nn.Tanh) and list(md.values())[0] is md["b"]
    del md["b"]
    md.clear()
    assert len(md) == 0
    with pytest.raises(KeyError):
        md["missing"]
    with pytest.raises(ValueError, match="length 1; 2 is required"):
        md.update([("x",)])
    with pytest.raises(TypeError, match="is not a Module subclass"):
        md["x"] = 3


def test_parameter_list_and_dict():
    pl = nn.ParameterList([Tensor(np.zeros(2)), nn.Parameter(np.ones(3))])
    assert isinstance(pl[0], nn.Parameter) and pl[0].requires_grad and len(pl) == 2
    pl.append(nn.Parameter(np.ones(1)))
    pl[-1] = Tensor(np.full(1, 2.0))
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"] and pl[2].item() == 2.0
    assert isinstance(pl[1:], nn.ParameterList) and len(pl[1:]) == 2
    with pytest.raises(IndexError):
        pl[3]
    with pytest.raises(TypeError, match="iterable"):
        pl.extend(Tensor(np.zeros(2)))
    with pytest.raises(RuntimeError, match="should not be called"):
        pl()
    pd = nn.ParameterDict({"w": Tensor(np.zeros(2)), "b": nn.Parameter(np.ones(1))})
    assert list(pd) == ["b", "w"] and isinstance(pd["w"], nn.Parameter)
    with pytest.raises(TypeError, match="not a string"):
        pd[3] = nn.Parameter(np.zeros(1))
    assert list(pd) == ["b", "w"]
    with pytest.raises(KeyError, match="contain"):
        pd["a.b"] = nn.Parameter(np.zeros(1))
    assert list(pd) == ["b", "w"]
    del pd["b"]
    assert list(pd.state_dict()) == ["w"] and pd.get("b") is None
