#include "relay/directory.h"

#include <memory>

#include "proto/prometheus.h"

namespace wzp::relay {

Directory::Directory(proto::Scheduler& scheduler, transport::RedisClient& redis, DirectorySelf self,
                     std::function<DirectoryLoad()> load, std::function<uint64_t()> wall_ms)
    : scheduler_(scheduler),
      redis_(redis),
      self_(std::move(self)),
      load_(std::move(load)),
      wall_ms_(std::move(wall_ms)) {
  timer_ = scheduler_.call_after(0, [this] { tick(); });
}

Directory::~Directory() {
  if (timer_) scheduler_.cancel(timer_);
}

void Directory::tick() {
  timer_ = scheduler_.call_after(kPublishEveryMs, [this] { tick(); });
  publish();
}

void Directory::send(std::vector<std::string> args) {
  redis_.command(std::move(args), [this](const proto::RespValue* r) {
    if (!r || r->is_error()) ++publish_failures_;
  });
}

void Directory::publish() {
  if (withdrawn_) return;
  if (!redis_.up()) {
    ++publish_failures_;  // once a second while it is away; the client says why
    return;
  }
  ++publishes_;
  const DirectoryLoad load = load_();
  const uint64_t now = wall_ms_();
  const std::string until = std::to_string(now + kTtlMs), past = std::to_string(now);
  const std::string ttl = std::to_string(kTtlMs);
  const std::string me = relay_key(self_.relay_id);
  send({"HSET", me, "address", self_.address, "fingerprint", self_.fingerprint, "sessions",
        std::to_string(load.sessions), "rooms", std::to_string(load.rooms.size()), "present",
        std::to_string(load.present.size()), "updated_ms", past});
  send({"PEXPIRE", me, ttl});
  send({"ZADD", relays_key(), until, self_.relay_id});
  send({"ZREMRANGEBYSCORE", relays_key(), "-inf", "(" + past});
  std::set<std::string> rooms;
  for (const auto& [sni, members] : load.rooms) {
    if (members == 0) continue;
    rooms.insert(sni);
    const std::string key = room_key(sni);
    send({"ZADD", key, until, self_.relay_id});
    send({"ZREMRANGEBYSCORE", key, "-inf", "(" + past});
    send({"PEXPIRE", key, ttl});
  }
  for (const auto& sni : rooms_published_) {
    if (!rooms.count(sni)) send({"ZREM", room_key(sni), self_.relay_id});
  }
  rooms_published_ = std::move(rooms);
  for (const auto& fp : load.present) send({"SET", presence_key(fp), self_.relay_id, "PX", ttl});
}

void Directory::withdraw() {
  if (withdrawn_) return;
  withdrawn_ = true;
  if (timer_) scheduler_.cancel(timer_), timer_ = 0;
  if (!redis_.up()) return;
  send({"ZREM", relays_key(), self_.relay_id});
  send({"DEL", relay_key(self_.relay_id)});
  for (const auto& sni : rooms_published_) send({"ZREM", room_key(sni), self_.relay_id});
  const DirectoryLoad load = load_();
  for (const auto& fp : load.present) {
    // Only if it is still ours: a client that moved on to another relay keeps its entry there.
    send({"EVAL",
          "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
          "return 0",
          "1", presence_key(fp), self_.relay_id});
  }
}

std::string Directory::metrics_text(const std::string& name) const {
  const auto& c = redis_.counters();
  std::string out;
  const auto family = [&](const char* metric, const char* type, const char* help, uint64_t v) {
    proto::family(out, (name + metric).c_str(), type, help, {{"", static_cast<double>(v)}});
  };
  family("_redis_up", "gauge", "1 while the connection to Redis is up.", redis_.up() ? 1 : 0);
  family("_redis_connects_total", "counter", "Connections made to Redis.", c.connects);
  family("_redis_disconnects_total", "counter", "Connections to Redis lost.", c.disconnects);
  family("_redis_commands_total", "counter", "Commands sent to Redis.", c.commands);
  family("_redis_failed_commands_total", "counter",
         "Commands not sent (Redis away) or lost with the connection.", c.failed);
  family("_redis_error_replies_total", "counter", "Commands Redis answered with an error.",
         c.error_replies);
  family("_directory_publishes_total", "counter", "Times the relay's directory entry was sent.",
         publishes_);
  family("_directory_publish_failures_total", "counter",
         "Publications skipped (Redis away) and commands in them that failed.", publish_failures_);
  return out;
}

}  // namespace wzp::relay
