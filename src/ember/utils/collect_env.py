"""``torch.utils.collect_env``: the environment report to paste into a bug report.

``python -m ember.utils.collect_env`` prints it. It reports what decides ember's
behaviour and speed: ember and NumPy versions, the BLAS NumPy calls (and its threads),
Python and the OS, the C library, the CPU, whether CUDA is usable through CuPy (runtime
and driver versions, GPU models) and the versions of ember's optional packages. It
leaves out what PyTorch's report lists only because PyTorch is compiled (debug build,
the compilers and CUDA toolkit that built it, cuDNN, ROCm, XNNPACK): ember compiles
nothing. The BLAS, device and optional-package probes are those of ``ember info``.
"""

from __future__ import annotations

import locale
import os
import platform
import subprocess
import sys
from typing import NamedTuple

__all__ = ["SystemEnv", "get_env_info", "get_pretty_env_info", "main", "run"]


class SystemEnv(NamedTuple):
    ember_version: str
    numpy_version: str
    blas: str
    os: str
    libc_version: str
    python_version: str
    python_platform: str
    is_cuda_available: str
    cupy_version: str | None
    cuda_runtime_version: str | None
    nvidia_driver_version: str | None
    nvidia_gpu_models: str | None
    cpu_info: str | None
    pip_version: str
    pip_packages: str


env_info_fmt = """
ember version: {ember_version}
NumPy version: {numpy_version}
{blas}

OS: {os}
Libc version: {libc_version}

Python version: {python_version}
Python platform: {python_platform}
Is CUDA available: {is_cuda_available}
CuPy version: {cupy_version}
CUDA runtime version: {cuda_runtime_version}
Nvidia driver version: {nvidia_driver_version}
GPU models and configuration: {nvidia_gpu_models}

CPU:
{cpu_info}

Versions of relevant libraries ({pip_version}):
{pip_packages}
""".strip()


def run(command):
    """Run ``command`` (a list, or a string for the shell); (return code, stdout,
    stderr), with (127, "", reason) when it cannot be started."""
    try:
        done = subprocess.run(command, capture_output=True, shell=isinstance(command, str),
                              timeout=20, check=False)
    except (OSError, subprocess.SubprocessError) as error:
        return 127, "", str(error)
    encoding = locale.getpreferredencoding() or "utf-8"
    return (done.returncode, done.stdout.decode(encoding, "replace").strip(),
            done.stderr.decode(encoding, "replace").strip())


def _os_name() -> str:
    if sys.platform == "linux":
        code, out, _ = run(["sh", "-c", ". /etc/os-release && echo \"$PRETTY_NAME\""])
        name = out if code == 0 and out else "Linux"
        return f"{name} ({platform.machine()})"
    if sys.platform == "darwin":
        return f"macOS {platform.mac_ver()[0]} ({platform.machine()})"
    return f"{platform.system()} {platform.release()} ({platform.machine()})"


def _cpu_info() -> str | None:
    if sys.platform == "linux":
        code, out, _ = run(["lscpu"])
        if code == 0:
            return out
    elif sys.platform == "darwin":
        code, out, _ = run(["sysctl", "-n", "machdep.cpu.brand_string"])
        if code == 0:
            return out
    return platform.processor() or None


def _cuda_fields():
    """(available, cupy version, runtime version, driver version, GPU models)."""
    from ..cli import _CUPY_DISTRIBUTIONS, _version

    cupy_version = next(filter(None, (_version(name) for name in _CUPY_DISTRIBUTIONS)), None)
    if cupy_version is None:
        return "False (CuPy is not installed)", None, None, None, None
    try:
        import cupy
        from .. import cuda

        available = cuda.is_available()
        runtime = cupy.cuda.runtime.runtimeGetVersion()
        driver = cupy.cuda.runtime.driverGetVersion()
        models = "\n".join(f"GPU {index}: {cuda.get_device_name(index)}"
                           for index in range(cuda.device_count())) or None
        return (str(available), cupy_version, _cuda_version(runtime), _cuda_version(driver),
                models)
    except Exception as error:  # noqa: BLE001 - a broken driver still gets a report
        return f"False ({type(error).__name__}: {error})", cupy_version, None, None, None


def _cuda_version(number: int) -> str:
    """CUDA's packed version number (12040) as text (12.4)."""
    return f"{number // 1000}.{number % 1000 // 10}"


def _pip_packages() -> tuple[str, str]:
    from ..cli import _EXTRAS, _version

    lines = [f"[pip3] numpy=={_version('numpy')}"]
    for _, distributions, _ in _EXTRAS:
        for name in distributions:
            version = _version(name)
            if version:
                lines.append(f"[pip3] {name}=={version}")
    pip = _version("pip")
    return (f"pip {pip}" if pip else "pip not installed"), "\n".join(lines)


def get_env_info() -> SystemEnv:
    """Collect the report's fields (runs a few short commands: lscpu, os-release)."""
    import numpy

    from .. import __version__
    from ..cli import _blas_lines

    available, cupy_version, runtime, driver, models = _cuda_fields()
    pip_version, pip_packages = _pip_packages()
    libc = platform.libc_ver()
    return SystemEnv(
        ember_version=__version__,
        numpy_version=numpy.__version__,
        blas="\n".join(line.replace("BLAS:        ", "BLAS: ") for line in _blas_lines()),
        os=_os_name(),
        libc_version="-".join(part for part in libc if part) or "N/A",
        python_version=f"{sys.version.replace(os.linesep, ' ')} "
                       f"({sys.maxsize.bit_length() + 1}-bit runtime)",
        python_platform=platform.platform(),
        is_cuda_available=available,
        cupy_version=cupy_version,
        cuda_runtime_version=runtime,
        nvidia_driver_version=driver,
        nvidia_gpu_models=models,
        cpu_info=_cpu_info(),
        pip_version=pip_version,
        pip_packages=pip_packages,
    )


def get_pretty_env_info() -> str:
    """The report as text (None fields print as "Could not collect", as PyTorch's)."""
    fields = {name: ("Could not collect" if value is None else value)
              for name, value in get_env_info()._asdict().items()}
    return env_info_fmt.format(**fields)


def main() -> None:
    print("Collecting environment information...")
    print(get_pretty_env_info())


if __name__ == "__main__":
    main()
