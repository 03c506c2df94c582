// The end-to-end tests start real silos; on a small CI machine running them one at a time keeps
// start-up and membership timings predictable.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
