// A fresh directory under $TMPDIR for one test, removed when the test ends
// (kept when KEEL_KEEP_TEST_DIRS is set, to look at logs after a failure).
#pragma once

#include <string>

namespace keel::test {

class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix = "keel-test");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  std::string file(const std::string& name) const { return *this / name; }
  void keep() { keep_ = true; }  // leave it on disk (logs of a failed run)

 private:
  std::string path_;
  bool keep_ = false;
};

// Writes `text` to `path`, making its parent directories.
void write_file(const std::string& path, const std::string& text);

}  // namespace keel::test
