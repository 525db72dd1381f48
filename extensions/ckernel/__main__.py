"""`python -m nbcampus.ckernel install ...` registers the kernel; anything else
starts it (Jupyter runs `python -m nbcampus.ckernel -f <connection file>`)."""

import sys


def main() -> None:
    if sys.argv[1:2] == ["install"]:
        from .kernelspec import main as install_main

        install_main(sys.argv[2:])
        return
    from ipykernel.kernelapp import IPKernelApp

    from .kernel import CKernel

    IPKernelApp.launch_instance(kernel_class=CKernel)


if __name__ == "__main__":
    main()
