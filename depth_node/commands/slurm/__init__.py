"""``slurm render``, ``slurm convert`` and ``slurm status``: a job's frames as one SLURM job array.

Each array task runs the same command as a local job on a balanced block of frames (the views of a frame stay in
one task) with ``--resume``, so a requeued task or a resubmission skips complete frames and redoes partial ones. A
finishing job that depends on the array (``afterany``) writes the once-per-job files (COLMAP, nerfstudio) once,
from every frame, and the account of every frame. Everything the scheduler runs is in ``OUT/<scene>/slurm/``:
the batch scripts (readable, resubmittable by hand), the tasks' logs, the submission and the account.

* :mod:`.batch`: the blocks of frames and the batch scripts (no bpy);
* :mod:`.scheduler`: sbatch, squeue and scancel (no bpy);
* :mod:`.status`: what is done and what failed, read from the output folder (no bpy);
* :mod:`.submit`: the :class:`~depth_node.commands.workers.Submit` a ``render`` or ``convert`` job hands its
  frames to.
"""
