import re

from rest_framework import pagination
from rest_framework.exceptions import ValidationError

# ASCII digits ("²".isdigit() is true), bounded: int() of a million digits is slow.
NUMBER = re.compile(r"[0-9]{1,9}")


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's pagination, except that a `page` or `page_size` that is not a positive number
    is a 400 naming it (DRF ignores a bad `page_size` and answers 404 for `page=x`); an
    empty one is as if it were absent, like every filter. A page past the last stays 404."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def _number(self, request, name):
        raw = request.query_params.get(name, "")
        if raw == "":
            return None
        if not NUMBER.fullmatch(raw) or int(raw) < 1:
            raise ValidationError({name: [f"'{raw[:50]}' is not a positive whole number."]})
        return int(raw)

    def get_page_size(self, request):
        size = self._number(request, self.page_size_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

    def get_page_number(self, request, paginator):
        if request.query_params.get(self.page_query_param) in self.last_page_strings:
            return super().get_page_number(request, paginator)
        number = self._number(request, self.page_query_param)
        return 1 if number is None else number
