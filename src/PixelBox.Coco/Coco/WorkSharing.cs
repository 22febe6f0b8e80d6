using System.Runtime.ExceptionServices;

namespace PixelBox.Coco;

/// <summary>
/// A minimal parallel loop for the bbox evaluation path: the calling thread and one pool task per other
/// core take the next index until none is left. Parallel.For costs tens of milliseconds on its first use
/// in a process (its event source, its generic workers to JIT), a few percent of a one-second CLI run.
/// </summary>
static class WorkSharing
{
    /// <summary>
    /// Runs <paramref name="body"/> for 0..count-1, each worker with its own <paramref name="localInit"/>
    /// state. After an exception the remaining indices are not started; the caller's own exception is
    /// rethrown as is, a pool task's as an <see cref="AggregateException"/> (as Task.Wait does).
    /// </summary>
    public static void For<TLocal>(int count, Func<TLocal> localInit, Action<int, TLocal> body)
    {
        int next = -1;
        void Work()
        {
            var local = localInit();
            try
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < count)
                    body(i, local);
            }
            catch
            {
                Volatile.Write(ref next, count); // stop the others
                throw;
            }
        }

        int workers = Math.Min(count, Environment.ProcessorCount);
        if (workers <= 1)
        {
            Work();
            return;
        }
        var tasks = new Task[workers - 1];
        for (int w = 0; w < tasks.Length; w++)
            tasks[w] = Task.Run(Work);
        ExceptionDispatchInfo? own = null;
        try
        {
            Work();
        }
        catch (Exception e)
        {
            own = ExceptionDispatchInfo.Capture(e);
        }
        if (own is null)
        {
            Task.WaitAll(tasks);
            return;
        }
        try
        {
            Task.WaitAll(tasks); // the others stop at their next index
        }
        catch (AggregateException)
        {
            // the caller's own exception is the one reported
        }
        own.Throw();
    }

    public static void For(int count, Action<int> body) => For<object?>(count, () => null, (i, _) => body(i));
}
