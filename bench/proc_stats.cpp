#include "proc_stats.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

namespace wzp::bench {

ProcessSample sample_process(pid_t pid) {
  ProcessSample s;
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream status(dir + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::strtod(line.c_str() + 6, nullptr);
    if (line.rfind("State:", 0) == 0) s.alive = line.find('Z') == std::string::npos;
  }
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    s.fds += 1;
  }
  // /proc/PID/stat: the command (in parentheses, may hold spaces), then fields 3 on; utime and
  // stime are fields 14 and 15, in clock ticks.
  std::ifstream stat(dir + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  if (const auto close = text.rfind(')'); close != std::string::npos) {
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::strtod(field.c_str(), nullptr);
      if (i == 15) stime = std::strtod(field.c_str(), nullptr);
    }
    s.cpu_s = (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return s;
}

std::optional<std::string> fetch_http(const std::string& url) {
  std::unique_ptr<FILE, int (*)(FILE*)> p(
      popen(("curl -sf --max-time 5 '" + url + "'").c_str(), "r"), pclose);
  if (!p) return std::nullopt;
  std::string text;
  std::array<char, 4096> buf;
  for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), p.get())) > 0;)
    text.append(buf.data(), n);
  if (pclose(p.release()) != 0) return std::nullopt;
  return text;
}

double metric_value(const std::string& text, const std::string& name) {
  const std::regex re("\\n" + name + " ([0-9.e+]+)");
  std::smatch m;
  const std::string t = "\n" + text;
  return std::regex_search(t, m, re) ? std::stod(m[1]) : -1;
}

}  // namespace wzp::bench
