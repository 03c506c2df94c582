using ApiPlatform.Grains.Events;

namespace ApiPlatform.GrainTests;

/// <summary>
/// A queue of the event streams: a read waits in the queue for the next message, each read acknowledges the one
/// before it, and a reader that never acknowledged (its agent stopped mid-read) leaves the messages for the next one.
/// </summary>
public sealed class EventQueueGrainTests(ClusterFixture fixture)
{
    private static readonly TimeSpan LongWait = TimeSpan.FromSeconds(25);

    private IEventQueueGrain NewQueue() => fixture.Grains.GetGrain<IEventQueueGrain>("test/" + Guid.NewGuid().ToString("N"));

    private static EventQueueMessage Message(string owner, params string[] items) =>
        new(StreamId.Create(EventStreams.Resources, owner), items, null);

    [Fact]
    public async Task A_read_of_an_empty_queue_returns_the_message_queued_while_it_waits()
    {
        var queue = NewQueue();
        var first = await queue.ReadAsync(Guid.Empty, 0, 10, TimeSpan.Zero);
        Assert.Empty(first.Messages);

        // The read waits far longer than the test allows it to take: only the enqueue can end it in time.
        var read = queue.ReadAsync(first.Epoch, 0, 10, LongWait);
        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.False(read.IsCompleted);
        await queue.EnqueueAsync(Message("usr_a", "one"));
        var found = await read.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        var message = Assert.Single(found.Messages);
        Assert.Equal(["one"], message.Items.Cast<string>());
        Assert.Equal(StreamId.Create(EventStreams.Resources, "usr_a"), message.StreamId);
        Assert.Equal(first.Epoch, found.Epoch);
    }

    [Fact]
    public async Task Each_read_acknowledges_the_one_before_it_and_takes_at_most_what_it_asks_for()
    {
        var queue = NewQueue();
        for (var i = 0; i < 5; i++)
        {
            await queue.EnqueueAsync(Message("usr_b", $"m{i}"));
        }

        var first = await queue.ReadAsync(Guid.Empty, 0, 3, TimeSpan.Zero);
        Assert.Equal(["m0", "m1", "m2"], first.Messages.Select(m => (string)m.Items[0]));
        Assert.True(first.Messages.Zip(first.Messages.Skip(1)).All(p => p.First.Seq < p.Second.Seq));

        var second = await queue.ReadAsync(first.Epoch, first.Messages[^1].Seq, 10, TimeSpan.Zero);
        Assert.Equal(["m3", "m4"], second.Messages.Select(m => (string)m.Items[0]));

        // The second read's messages are still held until a read acknowledges them: a new reader gets them again.
        var fresh = await queue.ReadAsync(Guid.Empty, 0, 10, TimeSpan.Zero);
        Assert.Equal(["m3", "m4"], fresh.Messages.Select(m => (string)m.Items[0]));

        var acknowledged = await queue.ReadAsync(fresh.Epoch, fresh.Messages[^1].Seq, 10, TimeSpan.Zero);
        Assert.Empty(acknowledged.Messages);
        Assert.Empty((await queue.ReadAsync(Guid.Empty, 0, 10, TimeSpan.Zero)).Messages);
    }

    [Fact]
    public async Task A_position_from_another_activation_acknowledges_nothing()
    {
        var queue = NewQueue();
        await queue.EnqueueAsync(Message("usr_c", "kept"));

        // A reader that last read from an earlier activation sends a position this one never gave out.
        var read = await queue.ReadAsync(Guid.NewGuid(), long.MaxValue, 10, TimeSpan.Zero);
        Assert.Equal(["kept"], read.Messages.Select(m => (string)m.Items[0]));
    }

    [Fact]
    public async Task A_full_queue_refuses_more_and_keeps_what_it_holds()
    {
        var queue = NewQueue();
        for (var sent = 0; sent < EventQueueGrain.Capacity; sent += 512)
        {
            await Task.WhenAll(Enumerable.Range(sent, 512).Select(i => queue.EnqueueAsync(Message("usr_d", $"m{i}"))));
        }

        await Assert.ThrowsAsync<InvalidOperationException>(() => queue.EnqueueAsync(Message("usr_d", "one too many")));
        var read = await queue.ReadAsync(Guid.Empty, 0, 10, TimeSpan.Zero);
        Assert.Equal(10, read.Messages.Count);

        // Acknowledging makes room again.
        await queue.ReadAsync(read.Epoch, read.Messages[^1].Seq, 1, TimeSpan.Zero);
        await queue.EnqueueAsync(Message("usr_d", "fits again"));
    }
}
