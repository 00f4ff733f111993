"""The torch modules: the shared trunk, its fused heads, and the sparse input layer."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sklearn_mtl._batches import csr_rows
from sklearn_mtl.modules import MemberEnsembleNet, SeededDropout, SharedTrunkNet, SparseInputLinear, keep_mask


def _seed_dropouts(module, seed=0):
    generator = torch.Generator().manual_seed(seed)
    for part in module.modules():
        if isinstance(part, SeededDropout):
            part.generator = generator


def _csr(dense):
    return csr_rows(sp.csr_matrix(dense), slice(None), sparse=True, device="cpu")


def test_sparse_input_layer_computes_the_dense_product_and_a_sparse_gradient():
    rng = np.random.RandomState(0)
    dense = rng.rand(6, 20) * (rng.rand(6, 20) < 0.2)
    dense[:, 7] = 0.0  # a column no row uses
    layer = SparseInputLinear(20, 4).double()
    sparse_out = layer(_csr(dense))
    torch.testing.assert_close(sparse_out, torch.tensor(dense) @ layer.bag.weight + layer.bias)
    sparse_out.sum().backward()
    gradient = layer.bag.weight.grad
    assert gradient.is_sparse
    touched = set(gradient.coalesce().indices()[0].tolist())
    assert touched == set(np.flatnonzero(dense.any(axis=0)).tolist()) and 7 not in touched


def test_sparse_input_layer_with_a_dense_gradient_trains_as_a_dense_layer():
    rng = np.random.RandomState(0)
    dense = rng.rand(6, 20) * (rng.rand(6, 20) < 0.2)
    layer = SparseInputLinear(20, 4, sparse_gradient=False).double()
    weight = layer.bag.weight.detach().clone().requires_grad_(True)
    target = torch.tensor(rng.rand(6, 4))
    ((layer(_csr(dense)) - target) ** 2).sum().backward()
    ((torch.tensor(dense) @ weight + layer.bias.detach() - target) ** 2).sum().backward()
    assert layer.bag.weight.grad.layout == torch.strided
    torch.testing.assert_close(layer.bag.weight.grad, weight.grad)


@pytest.mark.parametrize("p", [0.5, 0.2, 0.05])
def test_keep_mask_drops_with_probability_p_and_dropout_keeps_the_mean(p):
    generator = torch.Generator().manual_seed(0)
    mask = keep_mask((400, 500), p, generator)
    assert mask.dtype == torch.bool and abs((~mask).float().mean().item() - p) < 0.005
    # every column and row sees drops: no lane of the random words is biased
    assert abs((~mask[:, :4]).float().mean().item() - p) < 0.02
    dropout = SeededDropout(p).train()
    dropout.generator = generator
    assert abs(dropout(torch.ones(400, 500)).mean().item() - 1.0) < 0.01
    again = SeededDropout(p).train()
    again.generator = torch.Generator().manual_seed(0)
    assert torch.equal(keep_mask((400, 500), p, torch.Generator().manual_seed(0)), mask)


def test_sparse_squared_norm_covers_the_rows_a_batch_uses():
    dense = np.zeros((2, 5))
    dense[0, 1], dense[1, 3], dense[1, 1] = 1.0, 2.0, 3.0
    layer = SparseInputLinear(5, 3).double()
    expected = layer.bag.weight[[1, 3]].pow(2).sum()
    torch.testing.assert_close(layer.squared_norm(_csr(dense)), expected)


def test_trunk_with_a_sparse_first_layer_predicts_dense_and_sparse_inputs_alike():
    torch.manual_seed(0)
    net = SharedTrunkNet(n_features=30, n_outputs=3, hidden_layer_sizes=(8, 4), sparse_input=True).double().eval()
    dense = sp.random(5, 30, density=0.2, random_state=0).toarray()
    torch.testing.assert_close(net(_csr(dense)), net(torch.tensor(dense)))
    assert [p.shape for p in net.sparse_parameters()] == [torch.Size([30, 8])]
    assert any(p is net.sparse_parameters()[0] for p in net.shared_parameters())


def test_input_dropout_on_sparse_input_drops_stored_values_only():
    net = SharedTrunkNet(n_features=10, n_outputs=1, hidden_layer_sizes=(4,), input_dropout=0.5, sparse_input=True)
    net.sparse_input_dropout.generator = torch.Generator().manual_seed(0)
    X = _csr(np.eye(10, dtype=np.float32))
    net.train()
    assert not torch.equal(net(X), net.eval()(X))


@pytest.mark.parametrize("widths", [[1, 3, 1], [2, 2]])
def test_heads_start_alike_whatever_their_width(widths):
    net = SharedTrunkNet(n_features=4, n_outputs=sum(widths), hidden_layer_sizes=(6,), head_widths=widths)
    rows = np.split(net.heads.weight.detach().numpy(), np.cumsum(widths)[:-1])
    for row in rows:
        np.testing.assert_array_equal(row, rows[0][: len(row)] if len(row) <= len(rows[0]) else row)
        np.testing.assert_array_equal(row[0], rows[0][0])


@pytest.mark.parametrize("module", ["trunk", "members"])
def test_a_module_pickled_before_dropout_tasks_existed_still_predicts_and_trains(module):
    params = dict(n_features=6, n_outputs=2, hidden_layer_sizes=(8,), dropout=0.5, dropout_tasks=[True, False])
    net = SharedTrunkNet(**params, head_widths=[1, 1]) if module == "trunk" else MemberEnsembleNet(**params)
    expected = net.eval()(torch.ones(3, 6))
    for name in ("clean_tasks", "clean_columns"):
        net._buffers.pop(name, None)  # as a module pickled before the parameter was added
    torch.testing.assert_close(net(torch.ones(3, 6)), expected)
    assert net.train()(torch.ones(3, 6)).shape[-1] == 2


def test_stacked_products_of_the_sparse_layer_are_the_products_one_after_the_other():
    rng = np.random.RandomState(0)
    X = _csr(rng.rand(6, 20) * (rng.rand(6, 20) < 0.3))
    layer = SparseInputLinear(20, 4, sparse_gradient=False).double()
    values = [X.values(), 2 * X.values(), torch.zeros_like(X.values())]
    stacked = layer.forward_stacked(X, values)
    torch.testing.assert_close(stacked, torch.cat([layer(X, value) for value in values]))


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("n_shared_layers", [None, 1])
def test_dropout_reaches_the_dropout_tasks_only(n_shared_layers, sparse):
    torch.manual_seed(0)
    net = SharedTrunkNet(
        n_features=6,
        n_outputs=4,
        hidden_layer_sizes=(32, 16),
        n_shared_layers=n_shared_layers,
        head_widths=[1, 1, 2],
        dropout=0.5,
        input_dropout=0.2,
        sparse_input=sparse,
        dropout_tasks=[True, False, True],
    ).double()
    _seed_dropouts(net)
    X = torch.randn(50, 6, dtype=torch.float64)
    X = X.to_sparse_csr() if sparse else X
    whole = net.eval()(X)
    trained = net.train()(X)
    torch.testing.assert_close(trained[:, 1], whole[:, 1])  # the task without dropout
    assert not torch.allclose(trained[:, 0], whole[:, 0]) and not torch.allclose(trained[:, 2:], whole[:, 2:])
    rows, columns = torch.arange(50), torch.ones(50, dtype=torch.long)
    torch.testing.assert_close(net.pair_forward(X, rows, columns), whole[:, 1])
    # the task without dropout trains the shared weights as a network without dropout would
    undropped = SharedTrunkNet(
        n_features=6, n_outputs=4, hidden_layer_sizes=(32, 16), n_shared_layers=n_shared_layers,
        head_widths=[1, 1, 2], sparse_input=sparse,
    ).double()
    with torch.no_grad():
        for parameter, twin in zip(net.parameters(), undropped.parameters(), strict=True):
            twin.copy_(parameter)
    trained[:, 1].sum().backward()
    undropped.train()(X)[:, 1].sum().backward()
    for (name, parameter), twin in zip(net.named_parameters(), undropped.parameters(), strict=True):
        dense = (gradient.to_dense() if gradient.is_sparse else gradient for gradient in (parameter.grad, twin.grad))
        torch.testing.assert_close(*dense, msg=name)
    with pytest.raises(ValueError, match="dropout_tasks has 2 entries for 3 tasks"):
        SharedTrunkNet(n_features=6, n_outputs=4, head_widths=[1, 1, 2], dropout=0.5, dropout_tasks=[True, False])




def _shared_heads_net(task_sharing, head_widths=(1, 3, 1), **params):
    torch.manual_seed(0)
    return SharedTrunkNet(
        n_features=5, n_outputs=sum(head_widths), hidden_layer_sizes=(8,), head_widths=list(head_widths),
        task_sharing=task_sharing, **params,
    )


def test_shared_heads_start_where_independent_heads_start_and_read_the_shared_row_of_their_slot():
    independent, shared = _shared_heads_net(0.0), _shared_heads_net(2.0)
    X = torch.randn(4, 5)
    torch.testing.assert_close(shared(X), independent(X))  # deviations start at zero
    assert not shared.heads.weight.any()
    np.testing.assert_array_equal(shared.column_slot.numpy(), [0, 0, 1, 2, 0])
    with torch.no_grad():
        shared.shared_head[0] += 1.0  # moves the first output of every task, and no other
    moved = (shared(X) - independent(X)).abs().sum(dim=0) > 0
    np.testing.assert_array_equal(moved.numpy(), [True, True, False, False, True])


def test_shared_heads_penalize_the_deviations_by_their_factor():
    net = _shared_heads_net(7.0)
    factors = {id(p): factor for p, factor in net.penalized_parameters()}
    assert factors[id(net.heads.weight)] == 7.0
    assert factors[id(net.shared_head)] == 1.0 and factors[id(net.trunk[0].weight)] == 1.0
    infinite = _shared_heads_net(float("inf"))
    assert not infinite.heads.weight.requires_grad  # deviations fixed at zero: one head for all
    assert id(infinite.heads.weight) not in {id(p) for p, _ in infinite.penalized_parameters()}
    independent = _shared_heads_net(0.0)
    assert [(id(p), factor) for p, factor in independent.penalized_parameters()] == [
        (id(p), 1.0) for p in independent.parameters() if p.ndim > 1
    ]


@pytest.mark.parametrize("sparse_heads", [False, True])
@pytest.mark.parametrize("n_shared_layers", [None, 0])
def test_pair_forward_of_shared_heads_picks_the_forward_outputs(sparse_heads, n_shared_layers):
    net = _shared_heads_net(3.0, head_widths=(1, 1, 1, 1), sparse_heads=sparse_heads, n_shared_layers=n_shared_layers)
    with torch.no_grad():
        net.heads.weight.normal_()
    X, rows, columns = torch.randn(6, 5), torch.tensor([0, 2, 5, 5]), torch.tensor([1, 0, 3, 2])
    torch.testing.assert_close(net.pair_forward(X, rows, columns), net(X)[rows, columns])


def test_bad_task_sharing_is_named():
    with pytest.raises(ValueError, match="task_sharing"):
        _shared_heads_net(-1.0)
    with pytest.raises(ValueError, match="head_widths"):
        SharedTrunkNet(n_features=3, n_outputs=2, task_sharing=1.0)


def test_a_module_pickled_before_task_sharing_existed_still_predicts():
    net = _shared_heads_net(0.0)
    expected = net.eval()(torch.ones(2, 5))
    del net.shared_head, net.task_sharing  # as a module pickled before the parameter was added
    torch.testing.assert_close(net(torch.ones(2, 5)), expected)
    assert len(net.penalized_parameters()) == 2


@pytest.mark.parametrize("task_sharing", [0.0, 4.0, float("inf")])
def test_lazy_penalty_of_sparse_heads_weighs_the_deviations_by_their_factor(task_sharing):
    net = _shared_heads_net(task_sharing, head_widths=(1, 1, 1), sparse_heads=True)
    with torch.no_grad():
        net.heads.weight.fill_(0.5 if task_sharing < float("inf") else 0.0)
    squares = net.sparse_squared_norm(torch.zeros(2, 5), columns=torch.tensor([0, 2, 2]))
    expected = {0.0: 2 * 8 * 0.25, 4.0: 4.0 * 2 * 8 * 0.25, float("inf"): 0.0}[task_sharing]
    assert float(squares) == pytest.approx(expected)
