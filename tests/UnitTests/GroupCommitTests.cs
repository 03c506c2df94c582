using ApiPlatform.Grains.Storage;

namespace ApiPlatform.UnitTests;

public sealed class GroupCommitTests
{
    [Fact]
    public async Task Writes_that_arrive_while_one_is_on_its_way_go_together_in_the_next_and_each_gets_its_own_result()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = new TaskCompletionSource();
        var groups = new List<int[]>();
        var commit = new GroupCommit<int, string>(async items =>
        {
            lock (groups)
            {
                groups.Add([.. items]);
            }

            if (items[0] == 1)
            {
                started.SetResult();
                await first.Task; // the first write is still on its way while the others arrive
            }

            return [.. items.Select(i => "r" + i)];
        });

        var one = commit.AddAsync(1);
        await started.Task;
        var rest = new[] { commit.AddAsync(2), commit.AddAsync(3), commit.AddAsync(4) };
        first.SetResult();

        Assert.Equal("r1", await one);
        Assert.Equal(["r2", "r3", "r4"], await Task.WhenAll(rest));
        Assert.Equal([[1], [2, 3, 4]], groups);
    }

    [Fact]
    public async Task An_item_the_database_refuses_fails_only_its_own_caller()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = new TaskCompletionSource();
        var commit = new GroupCommit<int, int>(async items =>
        {
            if (items[0] == 0)
            {
                started.SetResult();
                await first.Task;
            }

            if (items.Contains(13))
            {
                throw new InvalidOperationException("refused: 13");
            }

            return [.. items.Select(i => i * 10)];
        });

        var held = commit.AddAsync(0);
        await started.Task;
        var group = new[] { commit.AddAsync(12), commit.AddAsync(13), commit.AddAsync(14) };
        first.SetResult();

        Assert.Equal(0, await held);
        Assert.Equal(120, await group[0]);
        Assert.Equal("refused: 13", (await Assert.ThrowsAsync<InvalidOperationException>(() => group[1])).Message);
        Assert.Equal(140, await group[2]);
    }
}
