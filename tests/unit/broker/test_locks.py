"""The local broker's lock and the ACLs: deny by default, least privilege per principal."""

from kafka.admin import ACLOperation, ACLResourcePatternType, ResourceType

from gamevault.broker.acls import partner_acls, platform_acls
from gamevault.broker.security import LocalSecurity
from gamevault.kafka_access import LocalPorts


def test_the_broker_denies_what_no_acl_allows_and_authenticates_every_listener(tmp_path):
    security = LocalSecurity(tmp_path / "secrets", tmp_path / "tls")
    config = security.server_properties(LocalPorts.from_base(19600))
    assert config["authorizer.class.name"].endswith("StandardAuthorizer")
    assert config["allow.everyone.if.no.acl.found"] == "false"
    assert config["super.users"] == "User:broker;User:operator"
    protocols = dict(item.split(":") for item in config["listener.security.protocol.map"].split(","))
    assert "PLAINTEXT" not in protocols.values()
    assert config["listener.name.mtls.ssl.client.auth"] == "required"
    assert "19600" in config["listeners"] and "19603" in config["listeners"]
    for path in (security.ca_file, security.broker_keystore, tmp_path / "tls" / "clients" / "gamevault.pem"):
        assert path.exists() and path.stat().st_mode & 0o077 == 0
    assert security.password("operator") != security.password("gamevault")
    args = security.format_args()
    assert [a for a in args if a != "--add-scram"] == [
        f"SCRAM-SHA-512=[name={p},password={security.password(p)}]" for p in ("broker", "operator", "gamevault")]


def test_the_platform_owns_its_prefix_and_cannot_delete_or_grant():
    acls = platform_acls("gamevault")
    assert {a.principal for a in acls} == {"User:gamevault"}
    owned = [a for a in acls if a.resource_pattern.resource_type != ResourceType.CLUSTER]
    assert all(a.resource_pattern.pattern_type == ACLResourcePatternType.PREFIXED
               and a.resource_pattern.resource_name == "gamevault" for a in owned)
    operations = {a.operation for a in acls}
    assert not operations & {ACLOperation.ALL, ACLOperation.DELETE, ACLOperation.ALTER, ACLOperation.ALTER_CONFIGS}


def test_a_partner_may_write_its_one_topic_and_nothing_else():
    acls = partner_acls("partner-acme", "gamevault.partners.acme.catalog")
    assert {(a.operation, a.resource_pattern.resource_type, a.resource_pattern.resource_name,
             a.resource_pattern.pattern_type) for a in acls} == {
        (op, ResourceType.TOPIC, "gamevault.partners.acme.catalog", ACLResourcePatternType.LITERAL)
        for op in (ACLOperation.WRITE, ACLOperation.DESCRIBE)}
