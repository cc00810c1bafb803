"""Request bodies as the appliances accept them: srmsim's own strict models of the vendor specs' request
schemas (SRM REST API 2.0 and vSphere Replication REST API 2.0, ``components/schemas/*Spec``), so that srmsim
answers a body the real server would reject with 400 and the specs' ``ResponseError``, never by running it.

Each model mirrors one schema: its required fields, JSON types (no coercion: ``"5"`` is not an integer),
enums, the documented bounds (``minimum``/``maximum``, ``maxLength``, int32/int64) and which fields are
``nullable`` (an explicit ``null`` anywhere else is refused). Objects are closed: a field the schema does not
name is refused, the stricter reading when in doubt (the specs leave ``additionalProperties`` unstated).
A route opts in with one argument: ``@ROUTES.post("/path", body=bodies.Name)``; the VR bodies are in
:mod:`srmctl.srmsim.vr_bodies`; the route layer validates
before anything else runs (see :func:`check`). tests/srmsim/test_requests.py keeps these in step with the specs.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from srmctl.srmsim.model import SimError

INT32 = 2**31 - 1
INT64 = 2**63 - 1
Int32 = Annotated[int, Field(ge=-INT32 - 1, le=INT32)]
Int64 = Annotated[int, Field(ge=-INT64 - 1, le=INT64)]


def _uuid(value: str) -> str:
    uuid.UUID(value)  # ValueError: not a uuid (the spec's ``format: uuid``)
    return value


Uuid = Annotated[str, AfterValidator(_uuid)]
Priority = Literal["P1", "P2", "P3", "P4", "P5"]
CalloutType = Literal["PROMPT", "RUN_ON_VM", "RUN_ON_SRM_SERVER"]
IpCustomizationType = Literal["AUTO", "NETWORK_MAPPING_LEVEL", "MANUAL", "NO_CUSTOMIZATION"]
DhcpOrStatic = Literal["DHCP", "STATIC"]
DiskFormat = Literal[
    "SAME_AS_SOURCE", "SAME_AS_PRIMARY", "AS_DEFINED_IN_PROFILE", "FLAT", "THICK", "NATIVE_THICK", "THIN", "RDM"
]
CalloutTimeout = Annotated[int, Field(ge=0, le=59999)]
ActionTimeout = Annotated[int, Field(ge=0, le=3599)]


class Body(BaseModel):
    """A closed, strictly typed request object; ``NULLABLE`` names the fields the spec marks ``nullable``. Named
    after the spec schema it mirrors plus ``Body``, never to be mistaken for the client's model of that schema."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def spec_name(cls) -> str:
        return cls.__name__.removesuffix("Body")

    @model_validator(mode="before")
    @classmethod
    def _no_stray_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None and key in cls.model_fields and key not in cls.NULLABLE:
                    raise ValueError(f"{key} may not be null")
        return data


# --- SRM: protection groups (ProtectionGroupCreateSpec, ProtectionGroupEditSpec) --------------------


class AbrProtectionGroupSpecBody(Body):
    replicated_array_pair: str
    datastores: list[str]


class HbrProtectionGroupSpecBody(Body):
    vms: list[str]


class VvolReplicationGroupDataBody(Body):
    fault_domain_id: str
    device_group_id: str


class VvolProtectionGroupSpecBody(Body):
    NULLABLE = frozenset({"replication_groups"})
    replication_groups: list[VvolReplicationGroupDataBody] | None


class ProtectionGroupEditSpecBody(Body):
    NULLABLE = frozenset({"description"})
    name: Annotated[str, Field(max_length=80)]
    description: Annotated[str, Field(max_length=4096)] | None = None
    abr_spec: AbrProtectionGroupSpecBody | None = None
    hbr_spec: HbrProtectionGroupSpecBody | None = None
    vvol_spec: VvolProtectionGroupSpecBody | None = None


class ProtectionGroupCreateSpecBody(ProtectionGroupEditSpecBody):
    location: str | None = None
    replication_type: Literal["UNKNOWN", "ABR", "HBR", "VVOL"]
    protected_vc_guid: Uuid


# --- SRM: inventory mappings (FolderMappingsSpec and its kin, AddPlaceholderDatastoreSpec) ------------


class FolderMappingsSpecBody(Body):
    mapping_source_object: str
    mapping_target_object: str


class ResourceMappingsSpecBody(FolderMappingsSpecBody):
    pass


class NetworkMappingsSpecBody(FolderMappingsSpecBody):
    pass


class AddPlaceholderDatastoreSpecBody(Body):
    datastores: list[str]


# --- SRM: recovery plans and their runs -------------------------------------------------------------


class TestNetworkMappingsSpecBody(Body):
    __test__ = False  # not a pytest class
    target_network: str
    test_network: str


class RecoveryPlanCreateSpecBody(Body):
    NULLABLE = frozenset({"location", "description", "protection_groups", "test_network_mappings"})
    location: str | None = None
    name: str
    description: str | None = None
    protected_vc_guid: Uuid
    protection_groups: list[str] | None = None
    test_network_mappings: list[TestNetworkMappingsSpecBody] | None = None


class RecoveryPlanEditSpecBody(Body):
    NULLABLE = frozenset(
        {"name", "description", "protected_vc_guid", "protection_groups", "test_network_mappings", "vms_to_suspend"}
    )
    name: str | None = None
    description: str | None = None
    protected_vc_guid: Uuid | None = None
    protection_groups: list[str] | None = None
    test_network_mappings: list[TestNetworkMappingsSpecBody] | None = None
    vms_to_suspend: list[str] | None = None


class TestPlanSpecBody(Body):
    __test__ = False
    sync_data: bool | None = None


class CleanupTestPlanSpecBody(Body):
    forced: bool | None = None


class RecoverPlanSpecBody(Body):
    skip_protection_site_operations: bool | None = None
    migrate_eligible_vms: bool | None = None
    sync_data: bool | None = None
    planned_failover: bool | None = None


class ReprotectPlanSpecBody(Body):
    forced: bool | None = None


# --- SRM: per-VM recovery settings ------------------------------------------------------------------


class GeneralIpV4SettingBody(Body):
    NULLABLE = frozenset({"default_gateway", "alternate_gateway"})
    ip_address: str
    type: DhcpOrStatic
    default_gateway: str | None = None
    alternate_gateway: str | None = None
    subnet_mask: str


class GeneralIpV6SettingBody(Body):
    NULLABLE = frozenset({"default_gateway", "alternate_gateway"})
    ip_address: str | None = None
    type: DhcpOrStatic
    default_gateway: str | None = None
    alternate_gateway: str | None = None
    subnet_prefix_length: Annotated[int, Field(ge=0, le=128)] | None = None


class DnsSettingBody(Body):
    NULLABLE = frozenset({"preferred_server", "alternate_server", "suffixes"})
    type: DhcpOrStatic
    preferred_server: str | None = None
    alternate_server: str | None = None
    suffixes: list[str] | None = None


class WinsSettingBody(Body):
    NULLABLE = frozenset({"primary_server", "alternate_server"})
    primary_server: str | None = None
    alternate_server: str | None = None


class IpSettingsBody(Body):
    ip_v4: GeneralIpV4SettingBody | None = None
    ip_v6: GeneralIpV6SettingBody | None = None
    dns: DnsSettingBody | None = None
    wins: WinsSettingBody | None = None


class NicSettingsBody(Body):
    device_id: Int32 | None = None
    primary_ip_settings: IpSettingsBody | None = None
    secondary_ip_settings: IpSettingsBody | None = None


class ShutdownActionSettingsBody(Body):
    skip_shutdown_guest: bool | None = None
    timeout_seconds: ActionTimeout


class StartupActionSettingsBody(Body):
    power_on_vmtools_timeout_seconds: ActionTimeout | None = None
    delay_before_power_on_steps_and_dependent_vms_seconds: ActionTimeout | None = None


class CalloutBody(Body):
    name: str
    content: str
    callout_type: CalloutType
    timeout_seconds: CalloutTimeout
    step_type: Literal["PRE_POWER_ON", "POST_POWER_ON", "RECOVERY_STEP"]
    id: str


class DependentVmBody(Body):
    NULLABLE = frozenset({"protection_group_name"})
    id: str
    name: str
    template: bool | None = None
    inside_vapp: bool | None = None
    status: Literal["OK", "NOT_IN_PLAN", "LOWER_PRIORITY", "HIGHER_PRIORITY"] | None = None
    priority_group: Priority | None = None
    protection_group_name: str | None = None


class VmRecoverySettingsSpecBody(Body):
    NULLABLE = frozenset({"nic_settings", "pre_power_on_steps", "post_power_on_steps", "dependent_vms"})
    ip_customization_type: IpCustomizationType
    nic_settings: list[NicSettingsBody] | None = None
    priority: Priority
    startup_action: Literal["POWER_ON", "DO_NOT_POWER_ON"]
    shutdown_action_settings: ShutdownActionSettingsBody
    pre_power_on_steps: list[CalloutBody] | None = None
    post_power_on_steps: list[CalloutBody] | None = None
    startup_action_settings: StartupActionSettingsBody | None = None
    dependent_vms: list[DependentVmBody] | None = None


class PriorityGroupDataBody(Body):
    priority: Priority


class DependentVmSpecBody(Body):
    NULLABLE = frozenset({"dependent_vms"})
    dependent_vms: list[str] | None = None


class VmRecoveryIpCustomizationSettingsSpecBody(Body):
    NULLABLE = frozenset({"nic_settings"})
    ip_customization_type: IpCustomizationType
    nic_settings: list[NicSettingsBody] | None = None


# --- SRM: custom recovery steps ---------------------------------------------------------------------


class CalloutModifySpecBody(Body):
    name: str
    content: str
    callout_type: CalloutType
    timeout_seconds: CalloutTimeout


class CalloutCreateSpecBody(CalloutModifySpecBody):
    position: Annotated[int, Field(ge=0, le=INT32)]


class ArrayOf:
    """A ``type: array`` body whose items are one of the above."""

    def __init__(self, item: type[Body]) -> None:
        self.item = item
        self.adapter: TypeAdapter[list[Body]] = TypeAdapter(list[item])  # type: ignore[valid-type]

    def validate(self, body: Any) -> None:
        self.adapter.validate_python(body, strict=True)


Schema = type[Body] | ArrayOf


def check(schema: Schema, body: Any) -> None:
    """Refuse a body its schema does not accept: 400 with the specs' ``ResponseError`` naming every problem
    ("Bad request - the server cannot understand the request due to invalid syntax or invalid request body
    content", the specs' 400). A missing body is refused too: every request body srmsim serves is required."""
    if body is None:
        raise SimError(400, "INVALID_BODY", "a JSON request body is required")
    try:
        if isinstance(schema, ArrayOf):
            schema.validate(body)
        else:
            schema.model_validate(body, strict=True)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()[:10])
        raise SimError(400, "INVALID_BODY", f"request body rejected: {problems}") from error


def name(schema: Schema) -> str:
    """The spec schema a body model mirrors (arrays as ``[Item]``)."""
    return f"[{schema.item.spec_name()}]" if isinstance(schema, ArrayOf) else schema.spec_name()
