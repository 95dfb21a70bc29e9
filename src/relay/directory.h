// The relay's entry in the cluster directory, kept in Redis: that it is alive (where clients
// reach it, its certificate fingerprint, its load), which rooms it hosts members of, and which
// registered fingerprints are present on it. Relays read it to find each other (federation:
// issue 19); an operator reads it with redis-cli. docs/OPERATIONS.md lists the keys.
//
// Everything is published again every half second and expires 2 s after its last publication,
// so a relay that dies leaves the directory on its own, Redis that restarts empty is whole
// again within 2.5 s of its return (the redial backoff, then a publication), and nothing needs a
// resynchronisation protocol. Lists of members are sorted sets scored by their expiry (wall clock,
// ms): a reader skips scores in the past and the writers trim them. Redis being away never touches
// a call: the relay logs it, counts it and publishes again once it is back.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "proto/scheduler.h"
#include "relay/relay_at.h"
#include "transport/redis_client.h"

namespace wzp::relay {

struct DirectorySelf {
  std::string relay_id;     // the relay's identity fingerprint
  std::string address;      // where clients reach it, HOST:PORT
  std::string fingerprint;  // its TLS certificate's (what clients pin)
  std::string prefix = "wzp:";
};

// What the relay hosts right now.
struct DirectoryLoad {
  size_t sessions = 0;
  std::vector<std::pair<std::string, size_t>> rooms;  // room SNI, members here
  std::vector<std::pair<std::string, size_t>> piped;  // ... members piped to the room's home
  std::vector<std::string> present;                   // registered fingerprints
};

class Directory {
 public:
  // A relay that dies is out of the directory 2 s after its last publication at most: sooner
  // than a client's failover (proto::Liveness: 2 s of silence), so that the relay it moves to
  // finds the room's home free to take.
  static constexpr uint64_t kPublishEveryMs = 500;
  static constexpr uint64_t kTtlMs = 2000;

  Directory(proto::Scheduler& scheduler, transport::RedisClient& redis, DirectorySelf self,
            std::function<DirectoryLoad()> load, std::function<uint64_t()> wall_ms);
  ~Directory();
  Directory(const Directory&) = delete;
  Directory& operator=(const Directory&) = delete;

  // Publishes now (and then every kPublishEveryMs, as from the start).
  void publish();
  // Takes the relay out of the directory (a clean shutdown) and stops publishing.
  void withdraw();
  // The home of the room with this SNI: the relay named in the directory while that relay is
  // alive there, else this one, which claims it (atomically: two relays asking at once get the
  // same answer). nullopt when Redis is away or the reply is not understood.
  void home_of(const std::string& sni, std::function<void(std::optional<RelayAt>)> done);
  // Whether the relay with this ID is listed alive (its score ahead of now); nullopt when Redis
  // is away or answers nonsense (nothing is known: nothing should be done about it).
  void alive(const std::string& relay_id, std::function<void(std::optional<bool>)> done);
  // Where the fingerprint is registered: the relay named by its presence entry while that relay
  // is alive (relay_id empty: registered nowhere in the cluster); nullopt when Redis is away.
  void locate(const std::string& fingerprint, std::function<void(std::optional<RelayAt>)> done);

  // Relays' inboxes: short messages between relays (a direct call's signalling, direct_calls.h).
  // post() appends to the other relay's inbox, which holds the newest kInboxMax and lapses
  // kInboxTtlMs after the last post (a relay that died takes nothing with it). Once
  // on_inbox() is set, this relay takes its inbox every kInboxPollMs and hands each message
  // over with the ID of the relay that posted it.
  static constexpr uint64_t kInboxPollMs = 50;
  static constexpr size_t kInboxMax = 256;
  static constexpr uint64_t kInboxTtlMs = 10000;
  static constexpr size_t kMaxInboxMessage = 4096;  // bytes; longer ones are dropped, counted
  void post(const std::string& relay_id, const std::string& text);
  void on_inbox(std::function<void(const std::string& from, const std::string& text)> take);

  const std::string& relay_id() const { return self_.relay_id; }
  // Where clients reach us, once the socket is bound (before the first publication).
  void set_address(std::string address) { self_.address = std::move(address); }
  // Prometheus families NAME_redis_* and NAME_directory_*.
  std::string metrics_text(const std::string& name) const;

  // The keys, for readers and tests.
  std::string relays_key() const { return self_.prefix + "relays"; }
  std::string relay_key(const std::string& id) const { return self_.prefix + "relay:" + id; }
  std::string room_key(const std::string& sni) const { return self_.prefix + "room:" + sni; }
  std::string home_key(const std::string& sni) const { return self_.prefix + "home:" + sni; }
  std::string presence_key(const std::string& fp) const { return self_.prefix + "presence:" + fp; }
  std::string inbox_key(const std::string& id) const { return self_.prefix + "inbox:" + id; }

 private:
  void tick();
  // A command whose failure counts in `failures` (the publications' by default).
  void send(std::vector<std::string> args, uint64_t& failures);
  void send(std::vector<std::string> args) { send(std::move(args), publish_failures_); }
  void poll_inbox();

  proto::Scheduler& scheduler_;
  transport::RedisClient& redis_;
  DirectorySelf self_;
  std::function<DirectoryLoad()> load_;
  std::function<uint64_t()> wall_ms_;
  uint64_t timer_ = 0;
  bool withdrawn_ = false;
  std::set<std::string> rooms_published_;  // to take a room out at once when it empties here
  uint64_t publishes_ = 0, publish_failures_ = 0;
  std::function<void(const std::string&, const std::string&)> take_;
  uint64_t inbox_timer_ = 0;
  bool polling_ = false;  // an LPOP in flight
  uint64_t inbox_in_ = 0, inbox_out_ = 0, inbox_bad_ = 0, inbox_failures_ = 0;
};

}  // namespace wzp::relay
