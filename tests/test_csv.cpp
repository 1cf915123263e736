#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "paradnn/csv.hpp"
#include "paradnn/error.hpp"

using namespace paradnn;

TEST(Csv, RoundTripWithQuotingAndAppend) {
  const std::string path = testing::TempDir() + "/rt.csv";
  std::filesystem::remove(path);
  {
    CsvWriter w(path, {"a", "b"}, false);
    w.write({{"a", "1"}, {"b", "x,\"y\"\nz"}});
  }
  {
    CsvWriter w(path, {"a", "b"}, true);  // appends without a second header
    w.write({{"a", "2"}});
  }
  const CsvTable t = read_csv(path);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].at("b"), "x,\"y\"\nz");
  EXPECT_EQ(t.rows[1].at("b"), "");
  EXPECT_EQ(t.lines[1], 4);
  EXPECT_THROW(CsvWriter(path, {"a", "c"}, true), InputError);  // other schema
}

TEST(Csv, MalformedRowNamesItsLine) {
  const std::string path = testing::TempDir() + "/bad.csv";
  std::ofstream(path) << "a,b\n1,2\n3\n";
  try {
    read_csv(path);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv:3"), std::string::npos) << e.what();
  }
}

TEST(Csv, SchemaHasTheAgreedColumnsInOrder) {
  const auto& c = result_columns();
  ASSERT_GE(c.size(), 30u);
  EXPECT_EQ(c.front(), "schema_version");
  const auto pos = [&](const std::string& n) { return std::find(c.begin(), c.end(), n) - c.begin(); };
  EXPECT_LT(pos("batch"), pos("layers"));
  EXPECT_LT(pos("status"), pos("params"));
  EXPECT_LT(pos("time_per_step_s_median"), pos("examples_per_s"));
  EXPECT_LT(pos("utilization"), pos("bound"));
  EXPECT_LT(static_cast<size_t>(pos("point_key")), c.size());
}
