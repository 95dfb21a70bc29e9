#include "client/status_line.h"

#include <gtest/gtest.h>

namespace wzp::client {
namespace {

// Before anything is measured or heard the line shows no made-up figures (it used to say
// "rtt 333 ms" and "filled 100.0%" with nothing decoded).
TEST(StatusLine, ShowsNoPlaceholdersBeforeThereIsAnythingToShow) {
  StatusView v;
  v.elapsed_s = 1;
  v.state = "connecting";
  const auto line = status_line(v);
  EXPECT_EQ(line.find("rtt"), std::string::npos) << line;
  EXPECT_EQ(line.find("heard"), std::string::npos) << line;
  EXPECT_EQ(line.find("delay"), std::string::npos) << line;
  EXPECT_EQ(line.find("loss"), std::string::npos) << line;
  EXPECT_EQ(line.find("reconnects"), std::string::npos) << line;
  EXPECT_EQ(line, "   1s connecting  0 others");
}

// A busy call fits an 80-column terminal; an extreme one is cut to the width it is given
// rather than wrapping.
TEST(StatusLine, ATypicalCallFits80ColumnsAndAnyLineFitsTheWidthGiven) {
  StatusView v;
  v.elapsed_s = 754;
  v.state = "connected";
  v.others = 3;
  v.codec = "opus24k";
  v.loss_percent = 23.4;
  v.rtt_ms = 148;
  v.delay_ms = 180;
  v.decoded = 950;
  v.concealed = 50;
  v.sending = true;
  v.level = 9000;
  const auto line = status_line(v);
  EXPECT_EQ(line,
            " 754s  3 others  opus24k  loss 23%  rtt 148ms  delay 180ms  heard 95%  [####  ]");
  EXPECT_LE(line.size(), 80u) << line;
  EXPECT_NE(line.find("heard 95%"), std::string::npos) << line;
  EXPECT_NE(line.find("rtt 148ms"), std::string::npos) << line;
  v.elapsed_s = 35999;
  v.state = "reconnecting";
  v.others = 99;
  v.codec = "codec2-1200";
  v.loss_percent = 100;
  v.rtt_ms = 12345;
  v.delay_ms = 12345;
  v.reconnects = 123;
  EXPECT_GT(status_line(v).size(), 80u);
  EXPECT_EQ(status_line(v, 80).size(), 80u);
  EXPECT_NE(status_line(v).find("reconnects 123"), std::string::npos);
}

}  // namespace
}  // namespace wzp::client
