namespace ApiPlatform.ClusterTests;

/// <summary>Waits for a state the test can observe, never for a length of time.</summary>
public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails naming <paramref name="what"/> after <paramref name="limit"/>.</summary>
    public static async Task HoldsAsync(Func<Task<bool>> condition, string what, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }
}
