#include "relay/directory.h"

#include <cstdlib>
#include <memory>

#include "proto/prometheus.h"

namespace wzp::relay {
namespace {

// KEYS[1] home key, KEYS[2] the relays' sorted set; ARGV: us, TTL ms, now ms, key prefix.
constexpr const char* kClaimHome =
    "local home = redis.call('GET', KEYS[1]) "
    "if home and home ~= ARGV[1] then "
    "  local live = redis.call('ZSCORE', KEYS[2], home) "
    "  if live and tonumber(live) > tonumber(ARGV[3]) then "
    "    local e = redis.call('HMGET', ARGV[4] .. 'relay:' .. home, 'address', 'fingerprint') "
    "    if e[1] then return {home, e[1], e[2] or ''} end "
    "  end "
    "end "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    "return {ARGV[1], '', ''}";
// KEYS[1] a key; ARGV: us, TTL ms. Refreshed while it is ours or nobody's.
constexpr const char* kKeepIfOurs =
    "local v = redis.call('GET', KEYS[1]) "
    "if not v or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end "
    "return 0";
// KEYS[1] a key; ARGV[1] us. Deleted only while it is ours.
constexpr const char* kDeleteIfOurs =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";

// KEYS[1] presence key, KEYS[2] the relays' sorted set; ARGV: now ms, key prefix. The relay the
// fingerprint is registered on, while that relay is alive: {id, address, fingerprint}, or {}.
constexpr const char* kLocate =
    "local id = redis.call('GET', KEYS[1]) "
    "if not id then return {} end "
    "local live = redis.call('ZSCORE', KEYS[2], id) "
    "if not live or tonumber(live) <= tonumber(ARGV[1]) then return {} end "
    "local e = redis.call('HMGET', ARGV[2] .. 'relay:' .. id, 'address', 'fingerprint') "
    "if not e[1] then return {} end "
    "return {id, e[1], e[2] or ''}";

// An inbox message: the posting relay's ID, a newline, the text.
std::string inbox_message(const std::string& from, const std::string& text) {
  return from + "\n" + text;
}

}  // namespace

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
  if (inbox_timer_) scheduler_.cancel(inbox_timer_);
}

void Directory::tick() {
  timer_ = scheduler_.call_after(kPublishEveryMs, [this] { tick(); });
  publish();
}

void Directory::send(std::vector<std::string> args, uint64_t& failures) {
  redis_.command(std::move(args), [&failures](const proto::RespValue* r) {
    if (!r || r->is_error()) ++failures;
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
  const auto list = [&](const std::string& sni) {
    rooms.insert(sni);
    const std::string key = room_key(sni);
    send({"ZADD", key, until, self_.relay_id});
    send({"ZREMRANGEBYSCORE", key, "-inf", "(" + past});
    send({"PEXPIRE", key, ttl});
  };
  for (const auto& [sni, members] : load.rooms) {
    if (members == 0) continue;
    list(sni);
    // The rooms hosted here are homed here (unless another relay holds the home: a room split
    // while Redis was away, mended as its members rejoin).
    send({"EVAL", kKeepIfOurs, "1", home_key(sni), self_.relay_id, ttl});
  }
  for (const auto& [sni, members] : load.piped) {
    if (members > 0) list(sni);
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
  for (const auto& sni : rooms_published_) {
    send({"ZREM", room_key(sni), self_.relay_id});
    send({"EVAL", kDeleteIfOurs, "1", home_key(sni), self_.relay_id});  // another takes it at once
  }
  const DirectoryLoad load = load_();
  // Only if it is still ours: a client that moved on to another relay keeps its entry there.
  for (const auto& fp : load.present)
    send({"EVAL", kDeleteIfOurs, "1", presence_key(fp), self_.relay_id});
}

void Directory::alive(const std::string& relay_id, std::function<void(std::optional<bool>)> done) {
  redis_.command({"ZSCORE", relays_key(), relay_id},
                 [this, done = std::move(done)](const proto::RespValue* r) {
                   if (!r || r->is_error()) return done(std::nullopt);
                   if (r->type == proto::RespValue::Type::kNull) return done(false);  // not listed
                   char* end = nullptr;
                   const double until = std::strtod(r->text.c_str(), &end);
                   done(end != r->text.c_str() && until > static_cast<double>(wall_ms_()));
                 });
}

void Directory::home_of(const std::string& sni, std::function<void(std::optional<RelayAt>)> done) {
  const std::string now = std::to_string(wall_ms_());
  redis_.command({"EVAL", kClaimHome, "2", home_key(sni), relays_key(), self_.relay_id,
                  std::to_string(kTtlMs), now, self_.prefix},
                 [this, done = std::move(done)](const proto::RespValue* r) {
                   if (!r || r->type != proto::RespValue::Type::kArray || r->items.size() != 3) {
                     return done(std::nullopt);
                   }
                   RelayAt h{r->items[0].text, r->items[1].text, r->items[2].text};
                   if (h.relay_id == self_.relay_id) h.address.clear();
                   done(std::move(h));
                 });
}

void Directory::locate(const std::string& fingerprint,
                       std::function<void(std::optional<RelayAt>)> done) {
  redis_.command({"EVAL", kLocate, "2", presence_key(fingerprint), relays_key(),
                  std::to_string(wall_ms_()), self_.prefix},
                 [done = std::move(done)](const proto::RespValue* r) {
                   if (!r || r->type != proto::RespValue::Type::kArray) return done(std::nullopt);
                   if (r->items.empty()) return done(RelayAt{});
                   if (r->items.size() != 3) return done(std::nullopt);
                   done(RelayAt{r->items[0].text, r->items[1].text, r->items[2].text});
                 });
}

void Directory::post(const std::string& relay_id, const std::string& text) {
  if (!redis_.up()) {
    ++inbox_failures_;
    return;
  }
  ++inbox_out_;
  const std::string key = inbox_key(relay_id);
  send({"RPUSH", key, inbox_message(self_.relay_id, text)}, inbox_failures_);
  send({"LTRIM", key, "-" + std::to_string(kInboxMax), "-1"}, inbox_failures_);
  send({"PEXPIRE", key, std::to_string(kInboxTtlMs)}, inbox_failures_);
}

void Directory::on_inbox(std::function<void(const std::string&, const std::string&)> take) {
  take_ = std::move(take);
  if (!inbox_timer_) inbox_timer_ = scheduler_.call_after(0, [this] { poll_inbox(); });
}

void Directory::poll_inbox() {
  inbox_timer_ = scheduler_.call_after(kInboxPollMs, [this] { poll_inbox(); });
  if (polling_ || !redis_.up() || withdrawn_) return;
  polling_ = true;
  redis_.command(
      {"LPOP", inbox_key(self_.relay_id), std::to_string(kInboxMax)},
      [this](const proto::RespValue* r) {
        polling_ = false;
        if (!r || r->type != proto::RespValue::Type::kArray) return;  // empty: null
        for (const auto& item : r->items) {
          const auto nl = item.text.find('\n');
          if (nl == std::string::npos || nl == 0 || item.text.size() > kMaxInboxMessage) {
            ++inbox_bad_;
            continue;
          }
          ++inbox_in_;
          if (take_) take_(item.text.substr(0, nl), item.text.substr(nl + 1));
        }
      });
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
  family("_inbox_posted_total", "counter", "Messages posted to other relays' inboxes.", inbox_out_);
  family("_inbox_post_failures_total", "counter",
         "Messages for other relays' inboxes not posted (Redis away) and commands posting them "
         "that failed.",
         inbox_failures_);
  family("_inbox_taken_total", "counter", "Messages taken from this relay's inbox.", inbox_in_);
  family("_inbox_dropped_total", "counter",
         "Messages in this relay's inbox that were not understood (no sender, or too long).",
         inbox_bad_);
  family("_directory_publishes_total", "counter", "Times the relay's directory entry was sent.",
         publishes_);
  family("_directory_publish_failures_total", "counter",
         "Publications skipped (Redis away) and commands in them that failed.", publish_failures_);
  return out;
}

}  // namespace wzp::relay
