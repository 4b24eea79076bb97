#include "act/redis_cluster_topology.h"

#include <catch2/catch.hpp>

namespace amas::act::redis {
namespace {

// As redis 7.0.15 prints it, mid-migration of slot 5461 from 7002 to 7001.
constexpr const char* kNodes =
    "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:7001@17001 myself,master - 0 0 1 "
    "connected 0-5460 [5461-<-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]\n"
    "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:7002@17002,cache-2 master - 0 "
    "1426238316232 2 connected 5461-10922\n"
    "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:7003@17003 master,fail - 1426238317239 "
    "1426238316232 3 disconnected 10923-16383\n"
    "6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:7005@17005 slave "
    "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 0 1426238316232 5 connected\n"
    "824fe116063bc5fcf9f4ffd895bc17aee7731ac3 :0@0 handshake - 0 0 0 disconnected\n";

TEST_CASE("CLUSTER NODES: roles, slots, open slots, flags") {
  auto nodes = ParseClusterNodes(kNodes);
  REQUIRE(nodes.ok());
  REQUIRE(nodes->size() == 5);
  const ClusterNode& a = (*nodes)[0];
  CHECK(a.myself());
  CHECK(a.master());
  CHECK(a.Address() == "127.0.0.1:7001");
  CHECK(a.bus_port == 17001);
  CHECK(a.SlotCount() == 5461);
  CHECK(a.Owns(0));
  CHECK(a.Owns(5460));
  CHECK_FALSE(a.Owns(5461));
  REQUIRE(a.importing.size() == 1);
  CHECK(a.importing[0] == OpenSlot{5461, "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1"});
  CHECK(a.migrating.empty());
  CHECK(a.master_id.empty());
  CHECK(a.config_epoch == 1);
  CHECK(a.connected);

  CHECK((*nodes)[1].host == "127.0.0.1");  // hostname after the comma is ignored
  CHECK((*nodes)[1].port == 7002);
  CHECK((*nodes)[2].failed());
  CHECK_FALSE((*nodes)[2].connected);
  CHECK((*nodes)[3].replica());
  CHECK((*nodes)[3].master_id == "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1");
  CHECK((*nodes)[3].SlotCount() == 0);
  CHECK((*nodes)[4].joining());

  CHECK(Myself(*nodes) == &(*nodes)[0]);
  CHECK(FindNode(*nodes, "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f") == &(*nodes)[2]);
  CHECK(FindNode(*nodes, "nope") == nullptr);
}

TEST_CASE("CLUSTER NODES: a lone node, migrating, single slots") {
  auto lone = ParseClusterNodes(
      "2d482d30adbf2f59a548622e581288e58528600c :6611@16611 myself,master - 0 0 0 connected\n");
  REQUIRE(lone.ok());
  CHECK(lone->front().host.empty());
  CHECK(lone->front().port == 6611);

  auto mig = ParseClusterNodes(
      "aaaa 127.0.0.1:7002@17002 myself,master - 0 0 2 connected 7 9-10 [8->-bbbb]\r\n");
  REQUIRE(mig.ok());
  CHECK(mig->front().SlotCount() == 3);
  CHECK(mig->front().slots == std::vector<SlotRange>{{7, 7}, {9, 10}});
  CHECK(mig->front().migrating == std::vector<OpenSlot>{{8, "bbbb"}});
}

TEST_CASE("CLUSTER NODES: errors name the line and the fragment") {
  auto few = ParseClusterNodes("aaaa 127.0.0.1:1@2 master\n");
  CHECK(few.status().message().find("line 1") != std::string::npos);
  auto range = ParseClusterNodes(
      "a 127.0.0.1:1@2 master - 0 0 0 connected 0-5\nb 127.0.0.1:2@3 master - 0 0 0 connected "
      "9-16384\n");
  CHECK(range.status().message().find("line 2") != std::string::npos);
  CHECK(range.status().message().find("9-16384") != std::string::npos);
  CHECK_FALSE(ParseClusterNodes("a 127.0.0.1@2 master - 0 0 0 connected\n").ok());
  CHECK_FALSE(ParseClusterNodes("a 127.0.0.1:1@2 master - 0 0 x connected\n").ok());
  CHECK_FALSE(ParseClusterNodes("a 127.0.0.1:1@2 master - 0 0 0 connected [5-?-b]\n").ok());
  CHECK_FALSE(ParseClusterNodes("a 127.0.0.1:1@2 master - 0 0 0 connected 5-3\n").ok());
  CHECK(ParseClusterNodes("").value().empty());
}

TEST_CASE("CLUSTER INFO and INFO fields") {
  auto info = ParseClusterInfo(
      "cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\n"
      "cluster_known_nodes:8\r\ncluster_size:4\r\ncluster_current_epoch:9\r\n");
  REQUIRE(info.ok());
  CHECK(info->state == "ok");
  CHECK(info->slots_assigned == 16384);
  CHECK(info->known_nodes == 8);
  CHECK(info->size == 4);
  CHECK(info->current_epoch == 9);
  CHECK_FALSE(ParseClusterInfo("cluster_size:4\r\n").ok());
  CHECK_FALSE(ParseClusterInfo("cluster_state:ok\r\ncluster_size:x\r\n").ok());

  auto f = ParseInfoFields(
      "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_link_status:up\r\n\r\n");
  CHECK(f["role"] == "slave");
  CHECK(f["master_link_status"] == "up");
  CHECK_FALSE(f.contains("# Replication"));
}

TEST_CASE("slot claims: the owner's own word beats a stale view") {
  // Node x imported slot 5 from d (now dead) and still names d as its owner;
  // r, d's promoted replica, claims 0-9 with a newer epoch.
  auto reference = ParseClusterNodes(
      "x 127.0.0.1:1@11 myself,master - 0 0 3 connected 10-16383 [5-<-d]\n"
      "d 127.0.0.1:2@12 master,fail - 0 0 2 disconnected 0-9\n"
      "r 127.0.0.1:3@13 master - 0 0 4 connected 0-4 6-9\n");
  REQUIRE(reference.ok());
  auto selves = ParseClusterNodes(
      "x 127.0.0.1:1@11 myself,master - 0 0 3 connected 10-16383 [5-<-d]\n"
      "r 127.0.0.1:3@13 myself,master - 0 0 4 connected 0-9\n");
  REQUIRE(selves.ok());
  auto merged = MergeSlotClaims(*reference, *selves);
  CHECK(merged[0].slots == std::vector<SlotRange>{{10, 16383}});
  CHECK(merged[1].slots.empty());
  CHECK(merged[2].slots == std::vector<SlotRange>{{0, 9}});
  CHECK(merged[0].importing.size() == 1);  // open slots are kept as they were

  // Nobody reachable claims 0-9 (no failover yet): the reference stays.
  auto only_x = MergeSlotClaims(*reference, {(*selves)[0]});
  CHECK(only_x[1].slots == std::vector<SlotRange>{{0, 9}});
  CHECK(only_x[2].slots.empty());
}

TEST_CASE("redirects") {
  CHECK(ParseRedirect("MOVED 3999 127.0.0.1:6381").value() == Endpoint::At("127.0.0.1", 6381));
  CHECK(ParseRedirect("ASK 1 10.0.0.2:7000").value().port == 7000);
  CHECK_FALSE(ParseRedirect("ERR nope").ok());
  CHECK_FALSE(ParseRedirect("MOVED 1 host").ok());
}

TEST_CASE("reply error classes") {
  CHECK(ReplyErrorStatus("CLUSTERDOWN The cluster is down").IsUnavailable());
  CHECK(
      ReplyErrorStatus("TRYAGAIN Multiple keys request during rehashing of slot").IsUnavailable());
  CHECK(ReplyErrorStatus("LOADING Redis is loading the dataset in memory").IsUnavailable());
  CHECK(ReplyErrorStatus("ERR Target instance replied with error: CLUSTERDOWN The cluster is down")
            .IsUnavailable());
  CHECK(ReplyErrorStatus("IOERR error or timeout connecting to the client").IsUnavailable());
  CHECK(ReplyErrorStatus("ERR I'm not the owner of hash slot 5").code() ==
        core::Status::Code::kFailedPrecondition);
  Reply r;
  r.type = Reply::Type::kError;
  r.str = "BUSYKEY Target key name already exists.";
  CHECK(r.error_code() == "BUSYKEY");
}

}  // namespace
}  // namespace amas::act::redis
