namespace ApiPlatform.Grains.Storage;

/// <summary>
/// Group commit for small writes from many callers on one silo: a write that arrives while another is on its way to
/// the database waits, and goes in the next statement together with everything else that arrived meanwhile (at most
/// <c>maxGroup</c> items). Nothing waits on a timer: a lone write is sent at once, and groups form only when writes
/// really overlap. Each caller gets its own item's result or exception: a group the database refuses is written again
/// item by item, so one bad item cannot fail the others.
/// </summary>
/// <remarks>
/// Used where the database round trip and commit, not the rows, are the cost: the webhook fan-out of many owners'
/// events and the results of many endpoints' attempts each became one statement per group instead of one per owner
/// or endpoint (bench/README.md, the event path's group commit).
/// </remarks>
public sealed class GroupCommit<TItem, TResult>(Func<IReadOnlyList<TItem>, Task<IReadOnlyList<TResult>>> write, int maxGroup = 256)
{
    private readonly Lock _gate = new();
    private readonly Queue<(TItem Item, TaskCompletionSource<TResult> Done)> _queue = new();
    private bool _writing;

    public Task<TResult> AddAsync(TItem item)
    {
        var done = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _queue.Enqueue((item, done));
            if (_writing)
            {
                return done.Task;
            }

            _writing = true;
        }

        _ = Task.Run(DrainAsync);
        return done.Task;
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            var group = new List<(TItem Item, TaskCompletionSource<TResult> Done)>();
            lock (_gate)
            {
                while (group.Count < maxGroup && _queue.TryDequeue(out var next))
                {
                    group.Add(next);
                }

                if (group.Count == 0)
                {
                    _writing = false;
                    return;
                }
            }

            try
            {
                var results = await write([.. group.Select(g => g.Item)]);
                for (var i = 0; i < group.Count; i++)
                {
                    group[i].Done.TrySetResult(results[i]);
                }
            }
            catch (Exception) when (group.Count > 1)
            {
                // Each alone, so an item the database refuses fails only its own caller, not its neighbours.
                foreach (var (item, done) in group)
                {
                    await WriteAloneAsync(item, done);
                }
            }
            catch (Exception e)
            {
                group[0].Done.TrySetException(e);
            }
        }
    }

    private async Task WriteAloneAsync(TItem item, TaskCompletionSource<TResult> done)
    {
        try
        {
            done.TrySetResult((await write([item]))[0]);
        }
        catch (Exception e)
        {
            done.TrySetException(e);
        }
    }
}
