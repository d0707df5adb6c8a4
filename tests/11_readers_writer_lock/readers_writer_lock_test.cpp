// Tests for readers_writer_lock: readers really share it; a writer excludes readers and other
// writers; a writer waits for every reader to leave; a waiting writer holds back new readers
// (so a stream of readers cannot starve it) and readers go on once it leaves; every waiting
// reader wakes when a writer leaves; the try_ forms; the standard wrappers; refused unlocks.
#include "readers_writer_lock.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <system_error>
#include <thread>

#include "workbook_test.hpp"

namespace {

using namespace std::chrono_literals;
using wb::readers_writer_lock;
using wb::test::linger;
using wb::test::background_call;
using wb::test::call_in_background;
using wb::test::hang_limit;
using wb::test::run_concurrently;

// How long a call must stay blocked before we believe it is waiting (generous under TSan).
constexpr auto kPark = 100ms;

// A one-way gate the test opens; waiting on it is bounded.
class gate {
 public:
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    opened_.notify_all();
  }
  bool wait_for(std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    return opened_.wait_for(lock, limit, [&] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;  // guarded by mutex_
};

// Opens a gate when it goes out of scope.
struct open_on_exit {
  gate& to_open;
  ~open_on_exit() { to_open.open(); }
};

// Polls `done` (every 50 us) until it is true or `limit` has passed; returns its last value.
template <class Done>
bool poll_until(Done done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50us);
  }
  return true;
}

// What happened when a thread called `release` on a lock not held in that mode, in words (""
// if it threw the right exception).
template <class Release>
std::string refusal_problem(Release release) {
  try {
    release();
  } catch (const std::system_error& e) {
    if (e.code() == std::errc::operation_not_permitted) return "";
    return fmt::format("it threw std::system_error with code {} ({}) instead of "
                       "std::errc::operation_not_permitted", e.code().value(), e.code().message());
  } catch (const std::exception& e) {
    return fmt::format("it threw something other than std::system_error: {}", e.what());
  }
  return "it returned normally instead of throwing";
}

// Whether another thread can take the lock for writing right now (it gives it back at once).
bool writer_can_enter(readers_writer_lock& rw, const std::string& when) {
  return call_in_background([&] {
    if (!rw.try_lock()) return false;
    rw.unlock();
    return true;
  }, "try_lock() from another thread " + when).get();
}

// Whether another thread can take the lock for reading right now (it gives it back at once).
bool reader_can_enter(readers_writer_lock& rw, const std::string& when) {
  return call_in_background([&] {
    if (!rw.try_lock_shared()) return false;
    rw.unlock_shared();
    return true;
  }, "try_lock_shared() from another thread " + when).get();
}

}  // namespace

TEST(ReadersWriterLock, ManyReadersHoldItAtTheSameTime) {
  // Given: 4 readers (two with lock_shared(), two with try_lock_shared()), each of which stays
  // inside until all 4 are inside together, or 1 s has passed
  constexpr int kReaders = 4;
  readers_writer_lock rw;
  std::atomic<int> inside{0};
  std::atomic<int> most_inside{0};
  std::atomic<int> failed_tries{0};
  // When
  run_concurrently(kReaders, [&](int index) {
    if (index % 2 == 0) {
      rw.lock_shared();
    } else if (!rw.try_lock_shared()) {
      failed_tries.fetch_add(1);
      return;
    }
    const int now = inside.fetch_add(1) + 1;
    int most = most_inside.load();
    while (now > most && !most_inside.compare_exchange_weak(most, now)) {
    }
    poll_until([&] { return most_inside.load() == kReaders; }, 1s);
    inside.fetch_sub(1);
    rw.unlock_shared();
  }, "4 readers sharing the lock");
  // Then
  EXPECT_EQ(failed_tries.load(), 0) << "try_lock_shared() failed although only readers held the lock";
  EXPECT_EQ(most_inside.load(), kReaders) << fmt::format(
      "at most {} of {} readers were inside at once: lock_shared() must let readers in together, "
      "waiting only for writers (not for other readers)", most_inside.load(), kReaders);
  EXPECT_TRUE(writer_can_enter(rw, "after every reader left")) << "the lock stayed taken after every reader left";
}

TEST(ReadersWriterLock, AWriterExcludesReadersAndOtherWriters) {
  // Given: 2 writers and 3 readers on a plain (non-atomic) array; a writer fills it with one
  // value in two halves, a reader checks all entries are equal; both sides count who is inside
  constexpr int kWriters = 2;
  constexpr int kReaders = 3;
  constexpr int kWriterRounds = 200;
  constexpr int kReaderRounds = 300;
  readers_writer_lock rw;
  std::array<int, 4> data{};  // only written under the write lock
  std::atomic<int> writers_inside{0};
  std::atomic<int> readers_inside{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> torn_reads{0};
  // When
  run_concurrently(kWriters + kReaders, [&](int index) {
    if (index < kWriters) {
      for (int round = 0; round < kWriterRounds; ++round) {
        if (round % 2 == 0) {
          rw.lock();
        } else {
          while (!rw.try_lock()) std::this_thread::yield();
        }
        if (writers_inside.fetch_add(1) != 0 || readers_inside.load() != 0) overlaps.fetch_add(1);
        const int value = index * kWriterRounds + round;
        data[0] = data[1] = value;
        linger();
        data[2] = data[3] = value;
        writers_inside.fetch_sub(1);
        rw.unlock();
        std::this_thread::sleep_for(100us);  // let readers in between writes
      }
      return;
    }
    for (int round = 0; round < kReaderRounds; ++round) {
      if (round % 2 == 0) {
        rw.lock_shared();
      } else {
        while (!rw.try_lock_shared()) std::this_thread::yield();
      }
      readers_inside.fetch_add(1);
      if (writers_inside.load() != 0) overlaps.fetch_add(1);
      const int first = data[0];
      linger();
      if (data[1] != first || data[2] != first || data[3] != first) torn_reads.fetch_add(1);
      readers_inside.fetch_sub(1);
      rw.unlock_shared();
    }
  }, "2 writers and 3 readers taking the lock hundreds of times (if all wait at once, a wake-up "
     "was lost: did the last reader out wake a writer, and a leaving writer the readers?)");
  // Then
  EXPECT_EQ(overlaps.load(), 0) << fmt::format(
      "{} times a writer was inside together with a reader or another writer. lock() must wait, in a "
      "`while` loop, until no reader and no writer is inside; lock_shared() until no writer is.",
      overlaps.load());
  EXPECT_EQ(torn_reads.load(), 0) << fmt::format(
      "{} reads saw a half-written array: a reader ran while a writer was writing", torn_reads.load());
}

TEST(ReadersWriterLock, WritersWaitUntilEveryReaderHasLeft) {
  // Given: in each of 3 rounds, two read locks are held and 8 writers call lock() (so that a
  // writer that wakes up without re-checking, e.g. after a spurious wake-up, is very likely)
  constexpr int kRounds = 3;
  constexpr int kWriters = 8;
  for (int round = 0; round < kRounds; ++round) {
    readers_writer_lock rw;
    rw.lock_shared();
    ASSERT_TRUE(rw.try_lock_shared()) << "try_lock_shared() failed although only a reader held the lock";
    std::atomic<int> entered{0};
    std::atomic<int> inside{0};
    std::atomic<int> overlaps{0};
    std::deque<background_call<void>> writers;
    for (int i = 0; i < kWriters; ++i) {
      writers.emplace_back([&] {
        rw.lock();
        if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
        entered.fetch_add(1);
        linger();
        inside.fetch_sub(1);
        rw.unlock();
      }, fmt::format("round {}: writer {} of {} in lock(), after the last reader left (does the last "
                     "unlock_shared() wake a waiting writer, and each leaving writer the next?)",
                     round, i, kWriters));
    }
    // When / Then
    std::this_thread::sleep_for(kPark);
    EXPECT_EQ(entered.load(), 0) << fmt::format(
        "round {}: {} writers got in while two readers were inside: lock() must wait, in a `while` loop, "
        "until no reader is inside", round, entered.load());
    rw.unlock_shared();
    std::this_thread::sleep_for(kPark / 5);
    EXPECT_EQ(entered.load(), 0) << fmt::format(
        "round {}: {} writers got in while one reader was still inside", round, entered.load());
    rw.unlock_shared();
    for (auto& writer : writers) writer.get();
    EXPECT_EQ(overlaps.load(), 0) << fmt::format("round {}: two writers were inside at once", round);
    if (HasFailure()) return;
  }
}

TEST(ReadersWriterLock, AWaitingWriterHoldsBackNewReadersWhoEnterAfterIt) {
  // Given: a reader inside, and a writer waiting for it
  readers_writer_lock rw;
  rw.lock_shared();
  std::atomic<bool> writer_inside{false};
  gate writer_may_leave;
  auto writer = call_in_background([&] {
    rw.lock();
    writer_inside = true;
    const bool released = writer_may_leave.wait_for(hang_limit);
    writer_inside = false;
    rw.unlock();
    return released;
  }, "a writer waiting for a reader to leave, then for the test to let it go");
  const open_on_exit let_writer_go{writer_may_leave};  // also when an ASSERT below returns early
  ASSERT_FALSE(writer.finishes_within(kPark)) << "a writer got in while a reader was inside";
  // When: new readers come
  const bool tried = reader_can_enter(rw, "while a writer was waiting");
  auto late_reader = call_in_background([&] {
    rw.lock_shared();
    const bool writer_was_inside = writer_inside.load();
    rw.unlock_shared();
    return writer_was_inside;
  }, "lock_shared() by a reader who came after a waiting writer, once the writer had left (does "
     "unlock() wake the waiting readers, and does lock() stop counting itself as waiting?)");
  // Then: they wait behind the writer
  EXPECT_FALSE(tried) << "try_lock_shared() succeeded while a writer was waiting: new readers must "
                         "not get in ahead of a waiting writer, or a stream of readers starves it";
  EXPECT_FALSE(late_reader.finishes_within(kPark))
      << "lock_shared() got in while a writer was waiting: new readers must wait behind a waiting "
         "writer, or a stream of readers can starve it for ever";
  // When: the old reader leaves
  rw.unlock_shared();
  // Then: the writer gets in, and the new reader still waits
  EXPECT_TRUE(poll_until([&] { return writer_inside.load(); }, hang_limit))
      << "the writer did not get in after the only reader left";
  EXPECT_FALSE(late_reader.finishes_within(kPark)) << "a reader got in while the writer was inside";
  // When: the writer leaves, the reader goes in
  writer_may_leave.open();
  EXPECT_TRUE(writer.get());
  EXPECT_FALSE(late_reader.get()) << "the reader saw the writer inside";
}

TEST(ReadersWriterLock, AWaitingWriterGetsInWhileReadersKeepComing) {
  // Given: 3 reader threads that keep the lock read-held without a gap: a reader leaves only
  // while another reader is inside (or after 200 ms alone), then comes straight back
  constexpr int kReaders = 3;
  constexpr auto kAlone = 200ms;
  readers_writer_lock rw;
  std::atomic<int> inside{0};
  std::atomic<int> entries{0};
  std::atomic<bool> stop{false};
  std::atomic<int> overlaps{0};
  std::atomic<bool> writing{false};
  std::deque<background_call<void>> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        rw.lock_shared();
        if (writing.load()) overlaps.fetch_add(1);
        inside.fetch_add(1);
        entries.fetch_add(1);
        const auto alone_until = std::chrono::steady_clock::now() + kAlone;
        for (;;) {
          int now = inside.load();
          if (now >= 2 && inside.compare_exchange_weak(now, now - 1)) break;  // someone stays
          if (stop.load() || std::chrono::steady_clock::now() >= alone_until) {
            inside.fetch_sub(1);
            break;
          }
          std::this_thread::sleep_for(20us);
        }
        rw.unlock_shared();
      }
    }, fmt::format("reader {} of {} re-entering in a loop until the test stops it", i, kReaders));
  }
  const auto a_reader_ended = [&] {
    return std::any_of(readers.begin(), readers.end(), [](auto& reader) { return reader.finishes_within(0ms); });
  };
  poll_until([&] { return entries.load() >= 30 || a_reader_ended(); }, hang_limit);
  if (a_reader_ended()) {  // it threw: stop the others and report what it threw
    stop = true;
    for (auto& reader : readers) reader.get();
  }
  ASSERT_GE(entries.load(), 30) << "the readers did not get going";
  // When: a writer comes
  auto writer = call_in_background([&] {
    rw.lock();
    writing = true;
    const int readers_inside = inside.load();
    std::this_thread::sleep_for(1ms);
    writing = false;
    rw.unlock();
    return readers_inside;
  }, "a writer, once the readers were stopped");
  // Then: it gets in although readers keep coming
  const bool got_in = writer.finishes_within(hang_limit);
  const int entries_when_writer_done = entries.load();
  EXPECT_TRUE(got_in) << fmt::format(
      "the writer was still waiting after {} ms while readers kept re-entering ({} read locks so far): "
      "writer starvation. Once a writer waits, lock_shared() and try_lock_shared() must make new readers "
      "wait (count the waiting writers, and let readers in only when there are none)",
      hang_limit.count(), entries_when_writer_done);
  // And the readers go on after it (stop them only once they did, or after the writer's limit)
  const bool readers_went_on =
      got_in && poll_until([&] { return entries.load() >= entries_when_writer_done + 10; }, hang_limit);
  stop = true;
  EXPECT_EQ(writer.get(), 0) << "readers were inside while the writer was";
  for (auto& reader : readers) reader.get();
  if (got_in) {
    EXPECT_TRUE(readers_went_on) << "readers could not get back in after the writer left (does unlock() "
                                    "wake the readers, and did lock() stop counting itself as waiting?)";
  }
  EXPECT_EQ(overlaps.load(), 0) << "a reader got in while the writer was inside";
}

TEST(ReadersWriterLock, EveryWaitingReaderGetsInWhenTheWriterLeaves) {
  // Given: in each of 3 rounds, a writer inside and 8 readers waiting in lock_shared()
  constexpr int kRounds = 3;
  constexpr int kReaders = 8;
  for (int round = 0; round < kRounds; ++round) {
    readers_writer_lock rw;
    rw.lock();
    std::atomic<int> entered{0};
    std::deque<background_call<void>> readers;
    for (int i = 0; i < kReaders; ++i) {
      readers.emplace_back([&] {
        rw.lock_shared();
        entered.fetch_add(1);
        rw.unlock_shared();
      }, fmt::format("round {}: reader {} of {} waiting in lock_shared() when the writer left (a leaving "
                     "writer must wake ALL waiting readers: notify_all)", round, i, kReaders));
    }
    std::this_thread::sleep_for(kPark);
    EXPECT_EQ(entered.load(), 0) << fmt::format(
        "round {}: {} readers got in while a writer held the lock: lock_shared() must wait, in a `while` "
        "loop, while a writer is inside", round, entered.load());
    // When
    rw.unlock();
    // Then: every one of them gets in (a hang here means the writer woke only some)
    for (auto& reader : readers) reader.get();
    EXPECT_EQ(entered.load(), kReaders);
    if (HasFailure()) return;
  }
}

TEST(ReadersWriterLock, TryFormsFailExactlyWhenTheCallWouldWait) {
  // Given
  readers_writer_lock rw;
  // When a writer holds it
  ASSERT_TRUE(rw.try_lock()) << "try_lock() on a free lock must succeed";
  // Then
  EXPECT_FALSE(writer_can_enter(rw, "while a writer held the lock")) << "two writers were inside at once";
  EXPECT_FALSE(reader_can_enter(rw, "while a writer held the lock")) << "a reader got in while a writer held the lock";
  rw.unlock();
  // When a reader holds it
  ASSERT_TRUE(rw.try_lock_shared()) << "try_lock_shared() on a free lock must succeed";
  // Then
  EXPECT_FALSE(writer_can_enter(rw, "while a reader held the lock"))
      << "try_lock() succeeded while a reader was inside: a writer must be alone";
  EXPECT_TRUE(reader_can_enter(rw, "while only a reader held the lock"))
      << "try_lock_shared() failed while only a reader was inside: readers share the lock";
  rw.unlock_shared();
  // When nobody holds it
  EXPECT_TRUE(writer_can_enter(rw, "after everyone left")) << "try_lock() failed on a free lock";
  EXPECT_TRUE(reader_can_enter(rw, "after everyone left")) << "try_lock_shared() failed on a free lock";
}

TEST(ReadersWriterLock, WorksWithUniqueLockLockGuardAndSharedLock) {
  // Given
  readers_writer_lock rw;
  // When: two std::shared_lock hold it
  {
    std::shared_lock first(rw);
    std::shared_lock second(rw, std::try_to_lock);
    // Then
    EXPECT_TRUE(second.owns_lock()) << "std::shared_lock(rw, std::try_to_lock) failed while only a reader held it";
    EXPECT_FALSE(writer_can_enter(rw, "while two std::shared_lock held it"));
  }
  // When: a std::unique_lock holds it
  {
    std::unique_lock writer(rw);
    // Then
    EXPECT_FALSE(reader_can_enter(rw, "while a std::unique_lock held it"));
    writer.unlock();
    std::lock_guard again(rw);
    EXPECT_FALSE(reader_can_enter(rw, "while a std::lock_guard held it"));
  }
  // Then: all of them released it
  EXPECT_TRUE(writer_can_enter(rw, "after every wrapper was destroyed"));
}

TEST(ReadersWriterLock, UnlockInTheWrongModeThrowsAndChangesNothing) {
  // Given: a free lock
  readers_writer_lock rw;
  // When / Then
  // (ASSERT: after a wrong unlock was accepted, the counts are off and a later lock may hang)
  std::string problem = refusal_problem([&] { rw.unlock(); });
  ASSERT_EQ(problem, "") << "unlock() of a free lock: " << problem
                         << ". It must throw std::system_error(std::errc::operation_not_permitted)";
  problem = refusal_problem([&] { rw.unlock_shared(); });
  ASSERT_EQ(problem, "") << "unlock_shared() of a free lock: " << problem
                         << ". It must throw std::system_error(std::errc::operation_not_permitted) "
                            "(and not count the readers below zero)";
  EXPECT_TRUE(writer_can_enter(rw, "after two refused unlocks")) << "refused unlocks broke the lock";
  // Given: a reader inside
  rw.lock_shared();
  // When / Then
  problem = refusal_problem([&] { rw.unlock(); });
  ASSERT_EQ(problem, "") << "unlock() while only a reader held the lock: " << problem;
  EXPECT_FALSE(writer_can_enter(rw, "while a reader was inside after a refused unlock()"))
      << "a refused unlock() changed the lock";
  rw.unlock_shared();
  // Given: a writer inside
  rw.lock();
  // When / Then
  problem = refusal_problem([&] { rw.unlock_shared(); });
  ASSERT_EQ(problem, "") << "unlock_shared() while a writer held the lock: " << problem;
  EXPECT_FALSE(reader_can_enter(rw, "while a writer was inside after a refused unlock_shared()"))
      << "a refused unlock_shared() changed the lock";
  rw.unlock();
  EXPECT_TRUE(reader_can_enter(rw, "after the writer left"));
}
