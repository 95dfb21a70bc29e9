// Summing several expositions of the same families (one per relay worker) into one.
#include "proto/prometheus.h"

#include <gtest/gtest.h>

namespace wzp::proto {
namespace {

TEST(Prometheus, ExpositionsOfWorkersAddUpSeriesBySeries) {
  std::string a, b;
  family(a, "x_total", "counter", "Things.", {{R"({k="1"})", 3}, {R"({k="2"})", 1}});
  family(a, "held", "gauge", "Held.", {{"", 2}});
  const std::array<double, 2> bounds{1, 5};
  const std::array<uint64_t, 2> ca{1, 2}, cb{0, 4};
  histogram(a, "lat", "Latency.", bounds, ca, 2, 3.5);
  family(b, "x_total", "counter", "Things.", {{R"({k="1"})", 4}, {R"({k="3"})", 7}});
  family(b, "held", "gauge", "Held.", {{"", 5}});
  histogram(b, "lat", "Latency.", bounds, cb, 5, 10);
  const std::array<std::string, 2> texts{a, b};
  EXPECT_EQ(sum_expositions(texts),
            "# HELP x_total Things.\n# TYPE x_total counter\n"
            "x_total{k=\"1\"} 7\nx_total{k=\"2\"} 1\nx_total{k=\"3\"} 7\n"
            "# HELP held Held.\n# TYPE held gauge\nheld 7\n"
            "# HELP lat Latency.\n# TYPE lat histogram\n"
            "lat_bucket{le=\"1\"} 1\nlat_bucket{le=\"5\"} 6\nlat_bucket{le=\"+Inf\"} 7\n"
            "lat_sum 13.5\nlat_count 7\n");
  const std::array<std::string, 1> one{a};
  EXPECT_EQ(sum_expositions(one), a);
}

}  // namespace
}  // namespace wzp::proto
