from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter


class StrictOrderingFilter(OrderingFilter):
    """`?ordering=` that answers 400 naming the valid fields instead of silently ignoring
    an unknown one."""

    def get_ordering(self, request, queryset, view):
        params = request.query_params.get(self.ordering_param)
        if params:
            fields = [param.strip() for param in params.split(",") if param.strip()]
            valid = {
                item[0] for item in self.get_valid_fields(queryset, view, {"request": request})
            }
            unknown = [f for f in fields if f.removeprefix("-") not in valid]
            if unknown and not valid:
                raise ValidationError({self.ordering_param: ["This list cannot be reordered."]})
            if unknown:
                raise ValidationError(
                    {
                        self.ordering_param: [
                            f"Cannot order by {', '.join(repr(u) for u in unknown)}; "
                            f"valid: {', '.join(sorted(valid))} (prefix '-' for descending)."
                        ]
                    }
                )
            return fields
        return self.get_default_ordering(view)
