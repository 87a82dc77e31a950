from hvla.orchestration.rollouts import map_jobs


def _square(x: int) -> int:
    return x * x


def test_map_jobs_reports_each_result_as_it_arrives_and_returns_them_in_order():
    seen: list[tuple[int, int]] = []
    out = map_jobs(_square, [(i,) for i in range(5)], workers=1, progress=False,
                   on_result=lambda i, r: seen.append((i, r)))
    assert out == [0, 1, 4, 9, 16]
    assert seen == list(enumerate(out))
