"""The nbcampus C kernel: notebook cells that form one C program.

Run `python -m nbcampus.ckernel install --sys-prefix` to register the kernel (display
name "C") with Jupyter.
"""

__version__ = "0.1.0"
KERNEL_NAME = "c"
