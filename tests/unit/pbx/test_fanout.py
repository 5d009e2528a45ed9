"""pbx.FanoutControl, the console's one face over the nodes of a cluster, and the AMI access
a node's manager.conf gives the console. The nodes here are stand-ins that keep what they
are asked; tests/integration/test_console_nodes.py runs two real Asterisks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import pbx
from hotline.secrets import Secrets
from hotline.settings import ClusterSettings, DatabaseSettings, PbxSettings, Settings
from pbx import ControlError, FanoutControl, Member, PbxControl, PbxInstance, site_files


class Node(PbxControl):
    """One node's control, in memory: its queue, what it was asked, up or down."""

    def __init__(self, name: str, *, up: bool = True, refuse: str = "") -> None:
        super().__init__(pbx.AmiClient("127.0.0.1", 9, "console", "unused"), node=name)
        self.up, self.refuse = up, refuse
        self.queue_: dict[str, Member] = {}
        self.waiting: dict[str, str] = {}
        self.asked: list[tuple[str, ...]] = []

    @property
    def connected(self) -> bool:
        return self.up

    def _ask(self, *what: str) -> None:
        if self.refuse:
            raise ControlError(self.refuse)
        self.asked.append(what)

    async def join(self, extension: str, name: str, *, paused: bool = False,
                   reason: str = "") -> None:
        self._ask("join", extension)
        self.queue_[extension] = Member(extension, name, paused, reason, "idle")

    async def leave(self, extension: str) -> None:
        self._ask("leave", extension)
        self.queue_.pop(extension, None)

    async def pause(self, extension: str, reason: str) -> None:
        self._ask("pause", extension, reason)

    async def members(self) -> dict[str, Member]:
        return dict(self.queue_)

    async def waiting_callers(self) -> dict[str, str]:
        return dict(self.waiting)

    async def originate(self, action: dict[str, str]) -> None:
        self._ask("originate", action["Channel"])

    async def transfer(self, agent_channel: str, target: str, *, attended: bool) -> None:
        self._ask("transfer", agent_channel, target)


async def test_a_seat_joins_every_node_that_is_up_and_a_node_down_is_left_for_later() -> None:
    one, two, three = Node("pbx1"), Node("pbx2"), Node("pbx3", up=False)
    control = FanoutControl({"pbx1": one, "pbx2": two, "pbx3": three})

    await control.join("8001", "李四")
    await control.pause("8001", "break")

    assert one.asked == two.asked == [("join", "8001"), ("pause", "8001", "break")]
    assert three.asked == []
    assert control.connected


async def test_one_node_refusing_is_logged_all_refusing_is_an_error() -> None:
    one, two = Node("pbx1"), Node("pbx2", refuse="Invalid/unknown command")
    control = FanoutControl({"pbx1": one, "pbx2": two})
    await control.leave("8001")  # pbx1 took it: the seat has left the cluster's queue
    assert one.asked == [("leave", "8001")]

    one.refuse = "Not allowed"
    with pytest.raises(ControlError, match=r"pbx1: Not allowed.*pbx2: Invalid"):
        await control.leave("8001")


async def test_no_node_up_is_an_error_staff_can_read() -> None:
    control = FanoutControl({"pbx1": Node("pbx1", up=False)})
    assert not control.connected
    with pytest.raises(ControlError, match="交换机未连接"):
        await control.join("8001", "李四")


async def test_the_queue_is_the_nodes_together() -> None:
    one, two = Node("pbx1"), Node("pbx2")
    one.queue_["8001"] = Member("8001", "李四", False, "", "idle")
    two.queue_["8001"] = Member("8001", "李四", True, "break", "in_use")
    two.queue_["8002"] = Member("8002", "王五", False, "", "unavailable")
    one.waiting, two.waiting = {"1700.1": "PJSIP/carrier-1"}, {"1700.1": "PJSIP/carrier-9",
                                                               "1700.2": "PJSIP/carrier-2"}
    control = FanoutControl({"pbx1": one, "pbx2": two})

    members = await control.members()
    # Paused on one node is paused; talking on one node is busy.
    assert members["8001"] == Member("8001", "李四", True, "break", "in_use")
    assert members["8002"].device == "unavailable"
    waiting = await control.waiting_callers()
    assert len(waiting) == 3, "two nodes' callers with the same uniqueid are both counted"
    assert sorted(map(float, waiting)) == [1700.1, 1700.1, 1700.2], "arrival times hold"


def test_a_phone_reachable_on_any_node_is_reachable() -> None:
    assert pbx.busiest(["unavailable", "idle"]) == "idle"
    assert pbx.busiest(["idle", "ringing", "in_use"]) == "in_use"
    assert pbx.busiest([]) == "unknown"


async def test_a_call_is_acted_on_at_its_node_and_a_callback_goes_to_a_node_that_is_up(
        ) -> None:
    one, two = Node("pbx1", up=False), Node("pbx2")
    control = FanoutControl({"pbx1": one, "pbx2": two}, prefer="pbx1")

    await control.on("pbx2").transfer("PJSIP/8001-00000001", "8101", attended=False)
    assert two.asked == [("transfer", "PJSIP/8001-00000001", "8101")]
    with pytest.raises(ControlError):
        await control.transfer("PJSIP/8001-00000001", "8101", attended=False)
    with pytest.raises(ControlError):
        control.on("pbx9")

    action = pbx.reply_call_action("8001", "13812345678", "T-1", 1, 2)
    await control.originate(action)  # pbx1 preferred, but down
    assert two.asked[-1] == ("originate", "PJSIP/8001")
    one.up = True
    await control.originate(action)
    assert one.asked == [("originate", "PJSIP/8001")]


def test_a_server_alone_keeps_its_one_control() -> None:
    ami = pbx.AmiClient("127.0.0.1", 5038, "console", "secret")
    control = pbx.console_control({"": ami})
    assert type(control) is PbxControl and control.on("anything") is control
    assert control.nodes() == {"": control}


def test_the_console_has_one_link_per_node(tmp_path: Path) -> None:
    settings = _cluster(tmp_path, node="")
    clients = pbx.console_clients(settings)
    assert list(clients) == ["pbx1", "pbx2"]
    assert [c._address for c in clients.values()] == ["10.1.1.11:5038", "10.1.1.12:5038"]
    alone = pbx.console_clients(dataclasses.replace(settings, cluster=ClusterSettings()))
    assert [c._address for c in alone.values()] == ["127.0.0.1:5038"]


# -- manager.conf: what AMI access a node gives ----------------------------------------------

SECRETS = Secrets(ami_secret="ami-Secret-42", phone_passwords={})


def _cluster(tmp_path: Path, node: str = "pbx1") -> Settings:
    return dataclasses.replace(
        Settings(), database=DatabaseSettings(url="postgresql://h@127.0.0.1/hotline"),
        pbx=PbxSettings(), cluster=ClusterSettings(
            node=node, nodes=("pbx1=10.1.1.11", "pbx2=10.1.1.12"), proxy="10.1.1.10:5060"))


def _sections(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        line = line.split(";", 1)[0].strip()
        if line.startswith("["):
            current = line[1:line.index("]")]
            found[current] = []
        elif line:
            found[current].append(line.replace(" ", ""))
    return found


def _manager(settings: Settings) -> dict[str, list[str]]:
    return _sections(site_files(settings, PbxInstance(None, Path("/x")), SECRETS)
                     ["manager.conf"])


def test_a_node_takes_ami_on_its_own_address_and_lets_the_console_in_from_the_cluster(
        tmp_path: Path) -> None:
    found = _manager(_cluster(tmp_path))
    assert "bindaddr=10.1.1.11" in found["general"]
    console = [line for line in found[pbx.names.CONSOLE_AMI_USER] if line.startswith("permit")]
    # The nodes and the proxy's host, each alone; the template's loopback stays too.
    assert console == ["permit=10.1.1.11/255.255.255.255", "permit=10.1.1.12/255.255.255.255",
                       "permit=10.1.1.10/255.255.255.255"]
    for own in (pbx.names.AMI_USER, pbx.names.PJSIP_AMI_USER):
        assert [line for line in found[own] if line.startswith("permit")] == [
            "permit=10.1.1.11/255.255.255.255"], "the node's own parts, from itself only"
    assert all(not line.startswith(("read", "write", "deny"))
               for lines in found.values() for line in lines), "classes stay the template's"
    assert pbx.ami_host(_cluster(tmp_path)) == "10.1.1.11"


def test_a_server_alone_keeps_ami_on_loopback(tmp_path: Path) -> None:
    alone = _manager(Settings())
    assert not any(line.startswith(("bindaddr", "permit"))
                   for lines in alone.values() for line in lines)
    # A console host outside the nodes (no [cluster] node) renders no node's manager.conf.
    assert not any(line.startswith("bindaddr") for line in _manager(
        _cluster(tmp_path, node=""))["general"])
    assert pbx.ami_host(Settings()) == "127.0.0.1"
