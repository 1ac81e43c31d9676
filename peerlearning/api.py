"""The API's base: the router apps register on, and who-am-I."""

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularSwaggerSplitView,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from peerlearning.access import SIGNED_IN, user_roles
from peerlearning.home import memberships_for

router = SimpleRouter(trailing_slash=True)


class MembershipSerializer(serializers.Serializer):
    section = serializers.SlugField(source="section.slug")
    role = serializers.CharField()
    participating = serializers.BooleanField()


class MeSerializer(serializers.Serializer):
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    memberships = MembershipSerializer(many=True)


class MeView(APIView):
    """The signed-in person, their roles and memberships."""

    access = SIGNED_IN

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        data = {
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "roles": sorted(user_roles(user)),
            "memberships": memberships_for(user),
        }
        return Response(MeSerializer(data).data)


class SchemaView(SpectacularAPIView):
    access = SIGNED_IN


class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI with its script served as a file, so the strict CSP holds."""

    access = SIGNED_IN
