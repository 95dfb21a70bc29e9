#include "crypto/media_aead.h"

#include <set>

#include "crypto/replay_window.h"
#include "proto/seq.h"
#include "test_util.h"

namespace wzp::crypto {
namespace {

Key32 some_key(uint8_t fill) {
  std::array<uint8_t, 32> k{};
  k.fill(fill);
  return Key32(std::span<const uint8_t, 32>(k));
}

TEST(MediaAead, NonceLayout) {
  // session_id || counter (BE) || direction || three zero bytes
  EXPECT_EQ(testing::hex(make_nonce(0xA1B2C3D4, 0x00010002, 1)), "a1b2c3d40001000201000000");
}

TEST(MediaAead, SealOpenRoundTripAndTamperDetection) {
  const MediaKey k(some_key(7), 42, 0);
  const std::vector<uint8_t> ad = {0x00, 1, 2, 3};
  const std::vector<uint8_t> pt(100, 0x5A);
  std::vector<uint8_t> ct(pt.size() + kAeadTagBytes), back(pt.size());
  ASSERT_EQ(k.seal(9, ad, pt, ct), ct.size());
  size_t n = 0;
  ASSERT_TRUE(k.open(9, ad, ct, back, &n));
  EXPECT_EQ(back, pt);
  EXPECT_FALSE(k.open(10, ad, ct, back, &n));  // other counter
  auto bad_ad = ad;
  bad_ad[3] ^= 1;
  EXPECT_FALSE(k.open(9, bad_ad, ct, back, &n));
  auto bad_ct = ct;
  bad_ct[50] ^= 1;
  EXPECT_FALSE(k.open(9, ad, bad_ct, back, &n));
  EXPECT_FALSE(MediaKey(some_key(7), 42, 1).open(9, ad, ct, back, &n));  // other direction
  EXPECT_FALSE(MediaKey(some_key(7), 43, 0).open(9, ad, ct, back, &n));  // other session
  EXPECT_FALSE(k.open(9, ad, std::span(ct).first(15), back, &n));        // shorter than a tag
}

// A sender's nonces over 200 000 packets (three 16-bit sequence wraps) never repeat, in either
// direction of one session.
TEST(MediaAead, NonceNeverRepeatsUnderOneKey) {
  std::set<std::array<uint8_t, kNonceBytes>> seen;
  for (uint8_t dir = 0; dir < 2; ++dir) {
    uint32_t counter = 0;
    for (int i = 0; i < 200000; ++i) {
      ASSERT_TRUE(seen.insert(make_nonce(0xCAFEBABE, counter++, dir)).second) << i;
    }
  }
  // The receiver recovers the same counters from the 16-bit wire sequence.
  proto::SeqExtender ext;
  for (uint32_t c = 0; c < 200000; ++c) {
    const uint64_t e = ext.extend(static_cast<uint16_t>(c));
    ASSERT_EQ(e, c);
    ext.update(e);
  }
}

TEST(MediaAead, MiniFrameAssociatedDataBindsTheInferredHeader) {
  proto::MediaHeaderWriter writer;
  proto::MediaFrameReader reader;
  proto::MediaHeader h;
  h.seq = 1;
  h.fec_block_id = 3;
  std::array<uint8_t, proto::kMaxMediaHeaderBytes> buf{};
  const size_t n_full = writer.write(h, nullptr, 20, buf);
  std::vector<uint8_t> full(buf.begin(), buf.begin() + n_full);
  full.resize(n_full + 20);
  reader.accept(*reader.parse(full));
  h.seq = 2;
  h.fec_symbol_idx = 1;
  const size_t n_mini = writer.write(h, nullptr, 20, buf);
  ASSERT_EQ(n_mini, 5u);
  std::vector<uint8_t> mini(buf.begin(), buf.begin() + n_mini);
  mini.resize(n_mini + 20);
  auto f = reader.parse(mini);
  ASSERT_TRUE(f.ok());
  std::array<uint8_t, kMaxAssociatedData> ad{};
  const size_t ad_len = media_associated_data(*f, ad);
  EXPECT_EQ(ad_len, 5u + 12u);
  // A different inferred block id gives different associated data.
  auto other = *f;
  other.header.fec_block_id = 4;
  std::array<uint8_t, kMaxAssociatedData> ad2{};
  media_associated_data(other, ad2);
  EXPECT_NE(ad, ad2);
}

TEST(ReplayWindow, RejectsDuplicatesAndTooOldAcceptsReordering) {
  ReplayWindow w;
  using V = ReplayWindow::Verdict;
  EXPECT_EQ(w.check(100), V::kFresh);
  w.commit(100);
  EXPECT_EQ(w.check(100), V::kDuplicate);
  EXPECT_EQ(w.check(99), V::kFresh);  // reordered, inside the window
  w.commit(99);
  EXPECT_EQ(w.check(99), V::kDuplicate);
  w.commit(5000);
  EXPECT_EQ(w.check(5000 - ReplayWindow::kSize + 1), V::kFresh);
  EXPECT_EQ(w.check(5000 - ReplayWindow::kSize), V::kTooOld);
  EXPECT_EQ(w.check(100), V::kTooOld);
  // Slots reused after the window slides are clear again.
  w.commit(5000 + 1);
  EXPECT_EQ(w.check(5000 + 1 - ReplayWindow::kSize + 1), V::kFresh);
  EXPECT_GE(ReplayWindow::kSize, 1024u);
}

TEST(ReplayWindow, EveryPacketOnceUnderHeavyReordering) {
  ReplayWindow w;
  std::vector<uint64_t> order;
  for (uint64_t base = 0; base < 100000; base += 512) {
    for (uint64_t i = 512; i-- > 0;) order.push_back(base + i);  // each block reversed
  }
  for (uint64_t c : order) {
    ASSERT_EQ(w.check(c), ReplayWindow::Verdict::kFresh) << c;
    w.commit(c);
    ASSERT_EQ(w.check(c), ReplayWindow::Verdict::kDuplicate);
  }
}

}  // namespace
}  // namespace wzp::crypto
