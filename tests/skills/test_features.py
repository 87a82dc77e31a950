import numpy as np
import torch

from hvla.skills.data import schema
from hvla.skills.policy import features as ft
from hvla.skills.scripted.motion import down_quat_wxyz


def _raw(B=2):
    H, N = len(ft.HISTORY), schema.N_SLOTS
    tokens = torch.zeros(B, H, N, schema.TOKEN_DIM)
    tokens[:, :, 0, 0] = 1
    tokens[:, :, 0, 1:4] = torch.tensor([0.5, 0.1, 0.03])
    state = torch.zeros(B, H, schema.STATE_DIM)
    state[..., :3] = torch.tensor([0.4, 0.0, 0.3])
    state[..., 3:7] = torch.from_numpy(down_quat_wxyz(0.3)).float()
    return ft.RawBatch(tokens, tokens[:, 0].clone(), state, torch.zeros(B, N, dtype=torch.long),
                       torch.zeros(B, dtype=torch.long), torch.zeros(B, ft.MAX_ARGS, dtype=torch.long),
                       torch.zeros(B, ft.MAX_ARGS, dtype=torch.long))


def test_feature_shapes_and_only_seen_slots_are_valid():
    raw = _raw()
    obj, _, valid = ft.object_features(raw)
    assert obj.shape == (2, schema.N_SLOTS, ft.OBJ_FEATURES)
    assert valid[:, 0].all() and not valid[:, 1:].any()
    assert ft.proprio_features(raw).shape == (2, ft.PROPRIO_FEATURES)
    assert torch.allclose(ft.hand_yaw(raw.state[:, 0, 3:7]), torch.tensor([0.3, 0.3]), atol=1e-6)


def test_targets_decode_back_to_the_world_waypoints():
    state = _raw().state[:, 0]
    wp = np.zeros((2, schema.CHUNK_K, 8), np.float32)
    wp[..., :3] = np.array([0.45, -0.05, 0.2])
    wp[..., 3:7] = down_quat_wxyz(-0.4)
    wp[..., 7] = 0.08
    dpos, dyaw, grip = ft.encode_targets(torch.from_numpy(wp.reshape(2, -1)), state)
    out = torch.cat([dpos, dyaw[..., None], torch.where(grip > 0.5, 10.0, -10.0)[..., None]], dim=-1)
    pos, yaw, p_open = ft.decode_outputs(out, state)
    np.testing.assert_allclose(pos.numpy(), wp[..., :3], atol=1e-6)
    np.testing.assert_allclose(yaw.numpy(), -0.4, atol=1e-5)
    assert (p_open > 0.99).all()
