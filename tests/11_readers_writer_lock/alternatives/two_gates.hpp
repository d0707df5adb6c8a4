// ALTERNATIVE: Howard Hinnant's two-gate design (libc++'s std::shared_mutex): a writer first claims the lock at the outer gate, which at once stops new readers and writers, then waits at an inner gate for the readers already inside to drain; no count of waiting writers.
// A readers-writer lock that does not starve writers.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <system_error>

namespace wb {

// readers_writer_lock: many readers at once (lock_shared) or one writer alone (lock). Writers
// are not starved: a writer claims the lock before waiting for the readers inside, and a
// claimed lock lets no new reader in. It is not recursive. It meets the standard's Lockable and
// SharedLockable requirements.
//
// Design: everyone passes the outer gate (entry_) only while no writer has claimed the lock.
// A writer that passes it sets writer_claimed_ (closing the gate behind it) and then waits at
// the inner gate (drained_) until readers_ is zero. The last reader out opens the inner gate.
// A leaving writer reopens the outer gate for everyone, readers and writers alike, and they
// race for it: between writers the order is not FIFO, but a single writer is never overtaken
// by readers that arrive after it.
//
// Thread safety: every member may be called concurrently from any thread. The lock does not
// track owners: unlock() is refused only when no writer holds it, unlock_shared() only when no
// reader does (std::system_error, std::errc::operation_not_permitted, nothing changed).
// Lifetime: destroy it only when nobody holds it or is inside a member.
// Invariants (whenever mutex_ is free): a writer holds the lock exactly when writer_claimed_
// is true and readers_ is 0 and that writer has returned from lock(); readers_ only falls while
// writer_claimed_ is true.
// Memory ordering: everything a writer did before unlock() is visible to every thread whose
// later lock() or lock_shared() (or successful try_) returns; everything a reader did before
// unlock_shared() is visible to the next writer (all state changes under mutex_).
class readers_writer_lock {
 public:
  readers_writer_lock() = default;
  readers_writer_lock(const readers_writer_lock&) = delete;
  readers_writer_lock& operator=(const readers_writer_lock&) = delete;

  // Takes the lock for writing: claims it (no new reader or writer gets in from then on),
  // then waits for the readers inside to leave.
  void lock() {
    std::unique_lock lock(mutex_);
    entry_.wait(lock, [this] { return !writer_claimed_; });
    writer_claimed_ = true;
    drained_.wait(lock, [this] { return readers_ == 0; });
  }

  // Like lock(), but never waits: returns false if anyone (reader or writer) is inside.
  bool try_lock() {
    std::lock_guard lock(mutex_);
    if (writer_claimed_ || readers_ != 0) return false;
    writer_claimed_ = true;
    return true;
  }

  // Gives up the write lock and reopens the outer gate for everyone.
  void unlock() {
    std::lock_guard lock(mutex_);
    if (!writer_claimed_ || readers_ != 0) refuse("unlock: no writer holds the lock");
    writer_claimed_ = false;
    entry_.notify_all();  // readers may all enter; of the writers, one will claim it
  }

  // Takes the lock for reading: waits while a writer holds or has claimed it.
  void lock_shared() {
    std::unique_lock lock(mutex_);
    entry_.wait(lock, [this] { return !writer_claimed_; });
    ++readers_;
  }

  // Like lock_shared(), but never waits: returns false if a writer holds or has claimed it.
  bool try_lock_shared() {
    std::lock_guard lock(mutex_);
    if (writer_claimed_) return false;
    ++readers_;
    return true;
  }

  // Gives up one read lock; the last reader out lets a claiming writer in.
  void unlock_shared() {
    std::lock_guard lock(mutex_);
    if (readers_ == 0) refuse("unlock_shared: no reader holds the lock");
    if (--readers_ == 0 && writer_claimed_) drained_.notify_one();  // at most one writer waits there
  }

 private:
  [[noreturn]] static void refuse(const char* what) {
    throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                            std::string("readers_writer_lock::") + what);
  }

  std::mutex mutex_;
  std::condition_variable entry_;    // outer gate: wait here while a writer has claimed the lock
  std::condition_variable drained_;  // inner gate: the claiming writer waits here for readers_ == 0
  int readers_ = 0;                  // guarded by mutex_: readers inside
  bool writer_claimed_ = false;      // guarded by mutex_: a writer is inside or draining readers
};

}  // namespace wb
