namespace ApiPlatform.StorageTests;

/// <summary>State persisted by <see cref="CounterGrain"/>.</summary>
[GenerateSerializer]
public sealed class CounterState
{
    [Id(0)]
    public int Value { get; set; }

    [Id(1)]
    public string? Note { get; set; }
}

/// <summary>A grain with one persistent state, used to prove state survives the silo.</summary>
public interface ICounterGrain : IGrainWithStringKey
{
    Task SetAsync(int value, string note);

    Task<CounterState> GetAsync();

    Task ClearAsync();

    /// <summary>Forces the next call to re-read the state from storage.</summary>
    Task DeactivateAsync();

    Task RegisterReminderAsync(string name);

    Task<bool> HasReminderAsync(string name);

    Task UnregisterReminderAsync(string name);
}

/// <summary>Implementation of <see cref="ICounterGrain"/> backed by the "store" provider.</summary>
public sealed class CounterGrain(
    [PersistentState("counter", TestSilo.StorageName)] IPersistentState<CounterState> state)
    : Grain, ICounterGrain, IRemindable
{
    public async Task SetAsync(int value, string note)
    {
        state.State.Value = value;
        state.State.Note = note;
        await state.WriteStateAsync();
    }

    public Task<CounterState> GetAsync() => Task.FromResult(state.State);

    public Task ClearAsync() => state.ClearStateAsync();

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public async Task RegisterReminderAsync(string name) =>
        // One minute is Orleans' minimum period; the test only checks registration, not ticks.
        await this.RegisterOrUpdateReminder(name, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(1));

    public async Task<bool> HasReminderAsync(string name) => await this.GetReminder(name) is not null;

    public async Task UnregisterReminderAsync(string name)
    {
        if (await this.GetReminder(name) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;
}
