"""The REST API (Django REST framework); OpenAPI schema at ``/api/schema/``."""
