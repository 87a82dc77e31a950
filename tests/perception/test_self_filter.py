import numpy as np

from hvla.perception.self_filter import on_gripper
from hvla.skills.scripted.motion import down_quat_wxyz


def _down_pose(xyz, yaw=0.3):
    from scipy.spatial.transform import Rotation

    w, x, y, z = down_quat_wxyz(yaw)
    T = np.eye(4)
    T[:3, :3] = Rotation.from_quat([x, y, z, w]).as_matrix()
    T[:3, 3] = xyz
    return T


def test_points_on_the_fingers_and_hand_go_and_the_grasped_object_between_them_stays():
    T = _down_pose([0.45, 0.1, 0.09])
    R, p = T[:3, :3], T[:3, 3]
    local = np.array([
        [0.0, 0.045, -0.02],  # on the left finger (gripper open 8 cm: inner face at 4 cm)
        [0.0, -0.05, 0.0],  # right fingertip
        [0.0, 0.0, -0.08],  # the hand body above the fingers
        [0.0, 0.0, -0.02],  # between the fingers: the object being grasped
        [0.0, 0.0, 0.05],  # below the fingertips: the object under the hand
        [0.1, 0.0, 0.0],  # beside the hand
    ])
    world = p + local @ R.T
    assert on_gripper(world, T, 0.08).tolist() == [True, True, True, False, False, False]
    # Closed on a 4 cm object: the fingers moved in, a point 2.5 cm off-centre is now on a finger.
    assert on_gripper(p + np.array([[0.0, 0.025, -0.02]]) @ R.T, T, 0.04).tolist() == [True]
