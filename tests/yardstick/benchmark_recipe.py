"""The "PyTorch Benchmark" recipe's calls: batched dot product two ways, timeit.Timer next
to torch.utils.benchmark.Timer (timeit, blocked_autorange, adaptive_autorange with labels,
sub-labels, descriptions and threads), and Compare's table over a small grid of sizes.
Timings differ by nature, so the script prints what a user relies on: that both versions
agree, the measurements' shape (runs per measurement, thread counts, titles) and that the
table has every row and column."""

import timeit

import torch
import torch.utils.benchmark as benchmark


def batched_dot_mul_sum(a, b):
    """Computes batched dot by multiplying and summing"""
    return a.mul(b).sum(-1)


def batched_dot_bmm(a, b):
    """Computes batched dot by reducing to bmm"""
    a = a.reshape(-1, 1, a.shape[-1])
    b = b.reshape(-1, b.shape[-1], 1)
    return torch.bmm(a, b).flatten(-3)


x = torch.arange(10000 * 64, dtype=torch.float32).reshape(10000, 64) / 1e5
print("versions agree:", torch.allclose(batched_dot_mul_sum(x, x), batched_dot_bmm(x, x)))

t0 = timeit.Timer(stmt="batched_dot_mul_sum(x, x)", setup="from __main__ import batched_dot_mul_sum",
                  globals={"x": x})
print("timeit positive:", t0.timeit(5) > 0)

t1 = benchmark.Timer(stmt="batched_dot_bmm(x, x)", setup="from __main__ import batched_dot_bmm",
                     globals={"x": x})
m = t1.timeit(5)
print("timeit measurement:", type(m).__name__, m.number_per_run, len(m.times), m.median > 0)
print(repr(m).splitlines()[1])

m0 = benchmark.Timer(stmt="batched_dot_mul_sum(x, x)", setup="from __main__ import batched_dot_mul_sum",
                     globals={"x": x}, num_threads=torch.get_num_threads(),
                     label="Multithreaded batch dot", sub_label="Implemented using mul and sum"
                     ).blocked_autorange(min_run_time=0.05)
print("blocked:", m0.title, m0.num_threads == torch.get_num_threads(), sum(m0.raw_times) >= 0.05)
a = benchmark.Timer(stmt="batched_dot_bmm(x, x)", setup="from __main__ import batched_dot_bmm",
                    globals={"x": x}).adaptive_autorange(max_run_time=0.5)
print("adaptive measurements:", len(a.times) >= 4 or sum(a.raw_times) > 0.5)

results = []
for b in [1, 16]:
    for n in [1, 64]:
        label = "Batched dot"
        sub_label = f"[{b}, {n}]"
        y = torch.ones((b, n))
        for num_threads in [1, 2]:
            results.append(benchmark.Timer(
                stmt="batched_dot_mul_sum(x, x)", setup="from __main__ import batched_dot_mul_sum",
                globals={"x": y}, num_threads=num_threads, label=label, sub_label=sub_label,
                description="mul/sum").blocked_autorange(min_run_time=0.01))
            results.append(benchmark.Timer(
                stmt="batched_dot_bmm(x, x)", setup="from __main__ import batched_dot_bmm",
                globals={"x": y}, num_threads=num_threads, label=label, sub_label=sub_label,
                description="bmm").blocked_autorange(min_run_time=0.01))
compare = benchmark.Compare(results)
compare.trim_significant_figures()
compare.colorize()
table = str(compare)
lines = table.splitlines()
print("table title:", lines[0].strip("[]- "))
print("columns:", [c.strip() for c in lines[1].split("|")])
print("thread groups:", [line.split(":")[0] for line in lines if "threads:" in line])
print("rows:", sorted({line.split("|")[0].strip() for line in lines[2:] if "|" in line}))
print("unit line:", lines[-1].startswith("Times are in"))
