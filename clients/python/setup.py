"""Builds ``convoscope-client``: of the ``convoscope`` package, only what the client needs."""

from setuptools import setup
from setuptools.command.build_py import build_py

# What the client distribution takes from the top-level package: the rest (the app, its
# settings and errors) belongs to the server and needs its dependencies.
_TOP_LEVEL = {"__init__"}


class ClientOnly(build_py):
    def find_package_modules(self, package: str, package_dir: str) -> list[tuple[str, str, str]]:
        modules = super().find_package_modules(package, package_dir)
        if package == "convoscope":
            return [m for m in modules if m[1] in _TOP_LEVEL]
        return modules


setup(cmdclass={"build_py": ClientOnly})
