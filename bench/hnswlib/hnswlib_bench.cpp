/*
 * hnswlib_bench.cpp — the yardstick for RuVector's HNSW: standalone hnswlib
 * (Debian's libhnswlib-dev) building the same graph (M, ef_construction) on
 * the same data, then answering the same queries single-threaded at each
 * ef_search, printed as the rows bench/ruvector-bench prints for ours.
 *
 *   bench/hnswlib/hnswlib_bench --data ../shared/data/glove-100 --metric cosine \
 *       [--m 16] [--efc 64] [--ef 10,20,40,80,200,400] [--k 10] [--queries N]
 *       [--threads 1] [--repeat 3]
 *
 * NOTES
 *	Recall@k is measured against the set's exact ground truth
 *	(groundtruth.ivecs for l2, groundtruth_cos.ivecs for cosine,
 *	groundtruth_ip.ivecs for ip), as ruvector-bench does.  Cosine is hnswlib's
 *	inner product over unit vectors (base and queries normalised once, before
 *	the build and outside the timing), the way hnswlib's own users run
 *	angular sets.  Queries are timed one at a time on one thread, the
 *	best of --repeat passes over all queries (the first pass warms the
 *	caches); p50/p99 are of that pass.  The build may use --threads
 *	threads; its time is reported but is not the comparison's point.
 *	This is a benchmark tool outside the extension: it holds no locks and
 *	touches no server.
 */
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <queue>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace
{

struct Matrix
{
	size_t		rows = 0;
	size_t		dim = 0;
	std::vector<float> f;		/* fvecs */
	std::vector<int32_t> i;		/* ivecs */
};

/* Reads an fvecs or ivecs file: per row an int32 dimension, then the row. */
template <typename T>
void
read_vecs(const std::string &path, size_t max_rows, size_t &rows, size_t &dim, std::vector<T> &out)
{
	FILE	   *fp = fopen(path.c_str(), "rb");
	int32_t		d;

	if (fp == nullptr)
		throw std::runtime_error("cannot open " + path);
	rows = 0;
	dim = 0;
	while ((max_rows == 0 || rows < max_rows) && fread(&d, sizeof d, 1, fp) == 1)
	{
		if (d <= 0 || (dim != 0 && (size_t) d != dim))
			throw std::runtime_error("bad row dimension in " + path);
		dim = (size_t) d;
		out.resize((rows + 1) * dim);
		if (fread(&out[rows * dim], sizeof(T), dim, fp) != dim)
			throw std::runtime_error("truncated " + path);
		rows++;
	}
	fclose(fp);
}

void
normalise(std::vector<float> &v, size_t dim)
{
	for (size_t r = 0; r < v.size() / dim; r++)
	{
		float	   *x = &v[r * dim];
		double		s = 0;

		for (size_t j = 0; j < dim; j++)
			s += (double) x[j] * x[j];
		if (s > 0)
			for (size_t j = 0; j < dim; j++)
				x[j] = (float) (x[j] / std::sqrt(s));
	}
}

std::vector<int>
parse_list(const char *s)
{
	std::vector<int> v;

	for (const char *p = s; *p;)
	{
		char	   *end;
		long		x = strtol(p, &end, 10);

		if (end == p || x <= 0)
			throw std::runtime_error(std::string("bad list: ") + s);
		v.push_back((int) x);
		p = (*end == ',') ? end + 1 : end;
	}
	return v;
}

double
percentile(std::vector<double> v, double q)
{
	size_t		k;

	std::sort(v.begin(), v.end());
	k = (size_t) std::ceil(q * v.size());
	return v[k > 0 ? k - 1 : 0];
}

struct Options
{
	std::string data;
	std::string metric = "l2";
	int			m = 16;
	int			efc = 64;
	std::vector<int> ef = {10, 20, 40, 80, 200, 400};
	int			k = 10;
	size_t		queries = 0;	/* 0: all */
	int			threads = 1;
	int			repeat = 3;
};

Options
parse_args(int argc, char **argv)
{
	Options		o;

	for (int a = 1; a < argc; a++)
	{
		std::string arg = argv[a];
		const char *val = (a + 1 < argc) ? argv[a + 1] : nullptr;

		if (val == nullptr)
			throw std::runtime_error("missing value for " + arg);
		if (arg == "--data")
			o.data = val;
		else if (arg == "--metric")
			o.metric = val;
		else if (arg == "--m")
			o.m = atoi(val);
		else if (arg == "--efc")
			o.efc = atoi(val);
		else if (arg == "--ef")
			o.ef = parse_list(val);
		else if (arg == "--k")
			o.k = atoi(val);
		else if (arg == "--queries")
			o.queries = (size_t) atol(val);
		else if (arg == "--threads")
			o.threads = atoi(val);
		else if (arg == "--repeat")
			o.repeat = atoi(val);
		else
			throw std::runtime_error("unknown option " + arg);
		a++;
	}
	if (o.data.empty())
		throw std::runtime_error("--data is required");
	if (o.metric != "l2" && o.metric != "cosine" && o.metric != "ip")
		throw std::runtime_error("--metric must be l2, cosine or ip");
	if (o.m < 2 || o.efc < 1 || o.k < 1 || o.k > 100 || o.threads < 1 || o.repeat < 1)
		throw std::runtime_error("--m >= 2, --efc >= 1, --k in 1..100, --threads >= 1, --repeat >= 1");
	return o;
}

/* Adds base rows [from, to) to the index. */
void
add_rows(hnswlib::HierarchicalNSW<float> *index, const Matrix *base, size_t from, size_t to)
{
	for (size_t r = from; r < to; r++)
		index->addPoint(&base->f[r * base->dim], (hnswlib::labeltype) r);
}

}							/* namespace */

int
main(int argc, char **argv)
{
	try
	{
		Options		o = parse_args(argc, argv);
		Matrix		base,
					query,
					truth;
		std::string gt = o.metric == "l2" ? "groundtruth.ivecs" :
			o.metric == "cosine" ? "groundtruth_cos.ivecs" : "groundtruth_ip.ivecs";

		read_vecs(o.data + "/base.fvecs", 0, base.rows, base.dim, base.f);
		read_vecs(o.data + "/query.fvecs", o.queries, query.rows, query.dim, query.f);
		read_vecs(o.data + "/" + gt, o.queries, truth.rows, truth.dim, truth.i);
		if (query.dim != base.dim || truth.rows != query.rows || truth.dim < (size_t) o.k)
			throw std::runtime_error("data, queries and ground truth do not match");
		if (o.metric == "cosine")
		{
			normalise(base.f, base.dim);
			normalise(query.f, query.dim);
		}

		std::unique_ptr<hnswlib::SpaceInterface<float>> space;
		if (o.metric == "l2")
			space.reset(new hnswlib::L2Space(base.dim));
		else
			space.reset(new hnswlib::InnerProductSpace(base.dim));
		hnswlib::HierarchicalNSW<float> index(space.get(), base.rows, o.m, o.efc, 42);

		auto		t0 = std::chrono::steady_clock::now();
		std::vector<std::thread> pool;
		for (int t = 0; t < o.threads; t++)
			pool.emplace_back(add_rows, &index, &base, base.rows * t / o.threads,
							  base.rows * (t + 1) / o.threads);
		for (auto &th : pool)
			th.join();
		double		build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

		printf("# hnswlib %s, %zu x %zu, metric %s, M %d, ef_construction %d, build %.1f s on %d thread%s\n",
			   o.data.c_str(), base.rows, base.dim, o.metric.c_str(), o.m, o.efc, build_s,
			   o.threads, o.threads == 1 ? "" : "s");
		printf("| ef_search | recall@%d | QPS (1 thread) | p50 ms | p99 ms |\n", o.k);
		printf("|---:|---:|---:|---:|---:|\n");
		for (int ef : o.ef)
		{
			double		best_s = 1e30,
						recall = 0;
			std::vector<double> best_lat;

			index.setEf((size_t) std::max(ef, o.k));
			for (int pass = 0; pass < o.repeat; pass++)
			{
				std::vector<double> lat(query.rows);
				std::vector<std::priority_queue<std::pair<float, hnswlib::labeltype>>> found(query.rows);
				size_t		hits = 0;
				auto		p0 = std::chrono::steady_clock::now();

				for (size_t q = 0; q < query.rows; q++)
				{
					auto		q0 = std::chrono::steady_clock::now();

					found[q] = index.searchKnn(&query.f[q * query.dim], (size_t) o.k);
					lat[q] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - q0).count();
				}
				double		s = std::chrono::duration<double>(std::chrono::steady_clock::now() - p0).count();

				/* recall outside the timing */
				for (size_t q = 0; q < query.rows; q++)
				{
					std::unordered_set<int32_t> want(&truth.i[q * truth.dim], &truth.i[q * truth.dim] + o.k);

					for (; !found[q].empty(); found[q].pop())
						hits += want.count((int32_t) found[q].top().second);
				}
				recall = (double) hits / ((double) query.rows * o.k);
				if (s < best_s)
				{
					best_s = s;
					best_lat = lat;
				}
			}
			printf("| %d | %.4f | %.0f | %.3f | %.3f |\n", ef, recall, query.rows / best_s,
				   percentile(best_lat, 0.50), percentile(best_lat, 0.99));
		}
	}
	catch (const std::exception &e)
	{
		fprintf(stderr, "hnswlib_bench: %s\n", e.what());
		return 1;
	}
	return 0;
}
