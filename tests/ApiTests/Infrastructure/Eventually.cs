namespace ApiPlatform.ApiTests.Infrastructure;

/// <summary>Waits for a state the test can observe, never for a length of time.</summary>
public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails naming <paramref name="what"/> after <paramref name="limit"/>.</summary>
    public static async Task HoldsAsync(Func<Task<bool>> condition, string what, TimeSpan? limit = null, Func<string>? describe = null)
    {
        // The pause grows from 50 ms to 400 ms: a condition polled through the API spends the caller's rate limit
        // (60 a minute on the free plan), and a long wait at a fixed 50 ms would run out of it before the deadline.
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(20));
        var pause = 50;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.{(describe is null ? "" : " " + describe())}");
            await Task.Delay(pause, TestContext.Current.CancellationToken);
            pause = Math.Min(pause * 2, 400);
        }
    }

    /// <summary>Polls <paramref name="probe"/> until it answers non-null; fails naming <paramref name="what"/> after <paramref name="limit"/>.</summary>
    public static async Task<T> ValueAsync<T>(Func<T?> probe, string what, TimeSpan? limit = null) where T : class
    {
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            if (probe() is { } value)
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
