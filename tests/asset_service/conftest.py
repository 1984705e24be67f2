"""asset-service tests: ``asset_app`` and ``asset_client`` come from tests/conftest.py."""
