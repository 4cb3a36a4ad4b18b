"""Tests of the Vertex backend. A package, so its conftest is ``vertex.conftest`` and never shadows
another test folder's ``conftest`` module."""
