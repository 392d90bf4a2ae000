// Public face of data/: shipped datasets, per-node shards (IID and Dirichlet skew), batch sampling.
export { DataError, DataErrorCode, PartitionParseError, ShardError, SamplerError } from './errors.js'
export { type Dataset, type ImageDataset, createImageDataset, featureSize, checkIndices, subset, gather } from './dataset.js'
export { loadMnist, type MnistSplit, MNIST_FEATURES, MNIST_TEST_SIZE, MNIST_SPLIT_SEED } from './mnist.js'
export { type Partition, parsePartition, formatPartition, validatePartition } from './partition.js'
export { shard, dirichlet, type ShardOptions } from './shard.js'
export { labelHistogram, entropyBits, summariseShards, type ShardSummary } from './stats.js'
export { BatchSampler, type Batch } from './sampler.js'
