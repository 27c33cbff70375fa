import factory
from django.contrib.auth import get_user_model

from opsknowledge.models import Component, Membership, Organisation, Release, Role


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"org{n}")
    name = factory.LazyAttribute(lambda o: f"Organisation {o.slug}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.EDITOR


class ComponentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Component
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"component{n}")
    name = factory.LazyAttribute(lambda c: c.slug.title())


class ReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Release
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"r{n}")
    name = factory.LazyAttribute(lambda r: f"Release {r.slug[1:]}")


def member(organisation, role=Role.EDITOR, username=None, **kwargs):
    """A user with `role` in `organisation`."""
    user = UserFactory(**({"username": username} if username else {}), **kwargs)
    Membership.objects.update_or_create(
        user=user, organisation=organisation, defaults={"role": role}
    )
    return user
