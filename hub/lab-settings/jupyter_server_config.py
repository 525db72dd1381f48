# Jupyter Server's configuration in every student server (installed by scripts/setup.sh into the
# environment's etc/jupyter/, and into the student image).
#
# Terminals: jupyter_server_terminals starts `$SHELL -l` when the server has no tty (always,
# under a spawner). A login shell reads /etc/profile, which sets PATH afresh and drops the
# environment's bin folder that the spawner put first (hub/isolation.py, the image's ENV):
# `nbgrader` and `jupyter` were then not found in a student's terminal. An interactive
# non-login bash keeps the server's PATH (and still reads /etc/bash.bashrc and ~/.bashrc).
c = get_config()  # noqa: F821 - get_config is provided by the config loader
c.ServerApp.terminado_settings = {"shell_command": ["/bin/bash", "-i"]}
